// probe.cpp - private entry points for the benchmarks (simdoptim.benchmark).
//
// _bandwidth_probe runs the probe kernel (kernels/probe.cpp) over a list of tensors, each a
// tuple of buffers: the first read_write are updated in place, the next write_only are only
// written, the rest only read. It is checked and threaded exactly like an optimizer update
// (one parallel region over all tensors, GIL released), so its time is the floor an update
// moving the same bytes could reach.
#include "../kernels/probe.h"
#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"

#include <array>

namespace simdoptim {
namespace bindings {
namespace {

void bandwidth_probe(py::object tensors, int read_write, int write_only) {
    const std::string func = "_bandwidth_probe";
    py::sequence items = require_list(func, "tensors", tensors);
    if (read_write < 0 || write_only < 0 || read_write + write_only < 1 || read_write > 5 || write_only > 2)
        throw py::value_error("_bandwidth_probe: need 0 <= read_write <= 5, 0 <= write_only <= 2 and at least one written buffer");
    const std::size_t count = py::len(items);
    std::vector<Slot> slots(count);
    std::vector<Interval> intervals;
    std::vector<py::array> keep_alive;  // the kernel runs without the GIL: hold the arrays
    int read_only = -1;
    bool mixed = false;  // streams of different dtypes (or 2-byte ones): the probe of raw bytes
    std::vector<std::array<int, kProbeMaxStreams>> widths(count, std::array<int, kProbeMaxStreams>{});
    for (std::size_t i = 0; i < count; ++i) {
        py::sequence bufs = require_list(func, "tensors[i]", items[i]);
        const int nb = int(py::len(bufs));
        const int ro = nb - read_write - write_only;
        if (ro < 0 || ro > 2 || nb > kProbeMaxStreams)
            throw py::value_error("_bandwidth_probe: tensors[" + std::to_string(i) + "] has " + std::to_string(nb) +
                                  " buffers; expected read_write + write_only + (0 to 2 read-only), at most 6");
        if (read_only >= 0 && ro != read_only)
            throw py::value_error("_bandwidth_probe: every tensor must have the same number of buffers");
        read_only = ro;
        Slot& s = slots[i];
        for (int k = 0; k < nb; ++k) {
            py::handle h = bufs[k];
            const std::string label = "tensors[" + std::to_string(i) + "][" + std::to_string(k) + "]";
            if (!py::isinstance<py::array>(h)) throw py::type_error("_bandwidth_probe: " + label + " must be a numpy.ndarray");
            py::array a = py::reinterpret_borrow<py::array>(h);
            const DType dt = dtype_of(a.dtype());
            if (dt == kNoDType)
                throw py::type_error("_bandwidth_probe: " + label + " must be native float32, float64, float16 or bfloat16");
            if (!(a.flags() & py::array::c_style) || !(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
                throw py::value_error("_bandwidth_probe: " + label + " must be C-contiguous and aligned");
            const bool written = k < read_write + write_only;
            if (written && !a.writeable()) throw py::value_error("_bandwidth_probe: " + label + " is read-only");
            widths[i][std::size_t(k)] = int(dtype_size(dt));
            if (k == 0) {
                s.n = std::size_t(a.size());
                s.param_dtype = dt;
                s.grad_dtype = dt;
            } else if (std::size_t(a.size()) != s.n) {
                throw py::value_error("_bandwidth_probe: " + label + " must have the size of tensors[" +
                                      std::to_string(i) + "][0]");
            }
            if (dt != s.param_dtype) mixed = true;
            keep_alive.push_back(a);
            void* p = written ? a.mutable_data() : const_cast<void*>(a.data());
            switch (k) {
                case 0: s.param = p; break;
                case 1: s.state[0] = p; break;
                case 2: s.state[1] = p; break;
                case 3: s.state[2] = p; break;
                case 4: s.param_copy = p; break;
                default: s.grad = p; break;
            }
            // intervals keep a pointer to the arg name, so it must be a literal
            const auto lo = reinterpret_cast<std::uintptr_t>(a.data());
            if (a.nbytes()) intervals.push_back({Span{lo, lo + std::size_t(a.nbytes())}, written, "buffers", i});
        }
    }
    check_no_overlap(func, Labels{py::none()}, intervals);
    // scale makes the written value the mean of what was read, so repeated calls stay finite
    const int reads = read_write + (read_only > 0 ? read_only : 0);
    for (const Slot& s : slots) mixed = mixed || dtype_size(s.param_dtype) == 2;
    std::vector<ProbeHyper> hypers(count, ProbeHyper{read_write, write_only, read_only > 0 ? read_only : 0,
                                                     reads ? 1.0 / reads : 1.0});
    for (std::size_t i = 0; i < count; ++i) {
        for (int k = 0; k < kProbeMaxStreams; ++k) hypers[i].width[k] = widths[i][std::size_t(k)];
        slots[i].hyper = &hypers[i];
    }
    const UpdateFn f32 = runtime::find_kernel("probe", same_dtypes(kFloat32))->update;
    const UpdateFn f64 = runtime::find_kernel("probe", same_dtypes(kFloat64))->update;
    const UpdateFn bytes = runtime::find_kernel("probe_bytes", same_dtypes(kNoDType))->update;
    ReleasedGIL nogil;
    runtime::for_each_slot_range(slots.data(), slots.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
        (mixed ? bytes : s.param_dtype == kFloat64 ? f64 : f32)(s, b, e);
    });
}

}  // namespace

SIMDOPTIM_BINDING(probe) {
    using namespace py::literals;
    m.def("_bandwidth_probe", &bandwidth_probe, "tensors"_a, py::kw_only(), "read_write"_a, "write_only"_a = 0,
          "Private (benchmarks): the memory-bandwidth probe. tensors is a list of tuples of equal-size "
          "C-contiguous float arrays: the first read_write are read and written in place, the next "
          "write_only only written, the rest (0 to 2) only read. With buffers of several dtypes (or "
          "float16/bfloat16 ones) it moves their bytes as raw bits, and writes bits that are not numbers.");
}

}  // namespace bindings
}  // namespace simdoptim
