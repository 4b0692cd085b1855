// all_finite.cpp - simdoptim._core.all_finite(arrays): True when no array of the list holds
// a NaN or an infinity; one parallel read pass with the GIL released. Kernel:
// kernels/all_finite.cpp; reference: reference.all_finite.
#include <atomic>

#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"

namespace simdoptim {
namespace bindings {
namespace {

// True when no array of the list holds a NaN or an infinity. One parallel pass, GIL released.
bool all_finite(py::object arrays) {
    py::sequence seq = require_list("all_finite", "arrays", arrays);
    std::vector<Slot> slots(py::len(seq));
    std::vector<py::array> keep_alive;  // the kernels run without the GIL: hold the arrays
    for (std::size_t i = 0; i < slots.size(); ++i) {
        py::handle h = seq[i];
        if (!py::isinstance<py::array>(h)) throw py::type_error("all_finite: arrays[" + std::to_string(i) + "] must be a numpy.ndarray");
        py::array a = py::reinterpret_borrow<py::array>(h);
        const DType dt = dtype_of(a.dtype());
        if (dt == kNoDType || !runtime::find_kernel("all_finite", same_dtypes(dt)))
            throw py::type_error("all_finite: arrays[" + std::to_string(i) + "] has dtype " +
                                 std::string(py::str(a.dtype())) +
                                 "; expected float32, float64, bfloat16 or float16 (native byte order)");
        if (!(is_c_contig(a) || is_f_contig(a)) || !is_aligned(a))
            throw py::value_error("all_finite: arrays[" + std::to_string(i) + "] must be contiguous (C or Fortran order) and aligned");
        keep_alive.push_back(a);
        slots[i].param = const_cast<void*>(a.data());
        slots[i].n = std::size_t(a.size());
        slots[i].param_dtype = dt;
    }
    FiniteFn fns[kNumDTypes] = {};
    for (int d = 0; d < kNumDTypes; ++d) {
        const KernelEntry* e = runtime::find_kernel("all_finite", same_dtypes(DType(d)));
        fns[d] = e ? e->finite : nullptr;
    }
    std::atomic<bool> ok{true};
    ReleasedGIL nogil;
    runtime::for_each_slot_range(slots.data(), slots.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
        if (!fns[s.param_dtype](s.param, b, e)) ok.store(false, std::memory_order_relaxed);
    }, runtime::Work::kRead);
    return ok.load();
}

}  // namespace

SIMDOPTIM_BINDING(all_finite) {
    using namespace py::literals;
    m.def("all_finite", &all_finite, "arrays"_a, "True when no array in the list holds NaN or +-inf.");
}

}  // namespace bindings
}  // namespace simdoptim
