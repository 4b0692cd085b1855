// round.cpp - private _core._round(src, dst, ...): the kernels' float32 -> float16/bfloat16
// stores on a whole array (kernels/round.cpp), threaded like an update, for the tests of
// reference.round_to and reference.random_bits.
#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"
#include "plan.h"

#include <cmath>

namespace simdoptim {
namespace bindings {
namespace {

void round_to(py::array src, py::array dst, Flag stochastic, std::uint64_t seed, std::uint64_t step,
              std::uint32_t tensor, std::uint32_t stream) {
    const std::string func = "_round";
    if (dtype_of(src.dtype()) != kFloat32 || !is_c_contig(src) || !is_aligned(src))
        type_error(func, "src must be a C-contiguous float32 array");
    const DType dd = dtype_of(dst.dtype());
    if ((dd != kBFloat16 && dd != kFloat16) || !is_c_contig(dst) || !is_aligned(dst) || !dst.writeable())
        type_error(func, "dst must be a writeable C-contiguous bfloat16 or float16 array");
    if (src.size() != dst.size()) value_error(func, "src and dst must have the same size");
    if (stream > 3) value_error(func, "stream must be 0 to 3");
    std::vector<Interval> iv{{span_of(src), false, "src", 0}, {span_of(dst), true, "dst", 0}};
    check_no_overlap(func, Labels{py::none()}, iv);
    StepCommon c;
    c.stochastic = stochastic;
    c.seed = seed;
    c.step = step;
    Slot s;
    s.grad = src.data();
    s.param = dst.mutable_data();
    s.n = std::size_t(dst.size());
    s.param_dtype = dd;
    s.index = tensor;
    s.state[0] = reinterpret_cast<void*>(std::uintptr_t(stream));
    s.common = &c;
    const UpdateFn f = runtime::find_kernel("round", DTypes{dd, kFloat32, kFloat32})->update;
    ReleasedGIL nogil;
    runtime::for_each_slot_range(&s, 1, [f](const Slot& sl, std::size_t b, std::size_t e) { f(sl, b, e); });
}

double grad_norm(py::object grads_obj, py::object grad_scale) {
    const std::string func = "grad_norm";
    py::sequence grads = require_list(func, "grads", grads_obj);
    std::vector<Slot> slots(py::len(grads));
    std::vector<py::array> keep_alive;
    StepCommon c;
    if (!grad_scale.is_none()) {
        c.unscale = true;
        c.grad_scale = py::cast<double>(grad_scale);  // checked by the caller
    }
    for (std::size_t i = 0; i < slots.size(); ++i) {
        py::array g = py::reinterpret_borrow<py::array>(grads[i]);
        const DType d = dtype_of(g.dtype());
        if (d == kNoDType || !(is_c_contig(g) || is_f_contig(g)) || !is_aligned(g))
            type_error(func, "grads[" + std::to_string(i) + "] must be a contiguous float array");
        keep_alive.push_back(g);
        slots[i].grad = g.data();
        slots[i].n = std::size_t(g.size());
        slots[i].grad_dtype = d;
        slots[i].param_dtype = d;
        slots[i].common = &c;
    }
    ReleasedGIL nogil;
    const std::vector<double> sums = grad_block_sums(slots, std::vector<char>(slots.size(), 1), nullptr);
    double total = 0.0;
    for (double x : sums) total += x;  // block sums in block order
    return std::sqrt(total);
}

}  // namespace

SIMDOPTIM_BINDING(round) {
    using namespace py::literals;
    m.def("_round", &round_to, "src"_a, "dst"_a, py::kw_only(), "stochastic"_a = false, "seed"_a = 0, "step"_a = 0,
          "tensor"_a = 0, "stream"_a = 0,
          "Private (functional.round_to, tests): dst = src rounded by the kernels' stores (nearest even, or "
          "stochastic with the random bits of this stream of this tensor and step).");
    m.def("_grad_norm", &grad_norm, "grads"_a, "grad_scale"_a = py::none(),
          "Private (functional.grad_norm): the global norm of C- or Fortran-contiguous gradients, summed as the "
          "step's read pass sums it.");
}

}  // namespace bindings
}  // namespace simdoptim
