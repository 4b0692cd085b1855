// register_ema.cpp - exponentially weighted averages: the streaming update of running
// averages (one pass, optional bias-corrected output in the same pass) and the
// whole-series scan along an axis.
#include <cmath>

#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"
#include "register.h"

namespace simdoptim {
namespace bindings {
namespace {

void ema_update(py::object averages, py::object values, Real beta, Count step, Flag bias_correction,
                py::object outs, py::object names) {
    const Context ctx{"ema_update", names};
    check_beta(ctx, "beta", beta);
    if (step < 1) throw py::value_error("ema_update: step must be >= 1, got " + std::to_string(step.value));
    if (bias_correction && outs.is_none())
        throw py::value_error("ema_update: bias_correction=True needs outs to write the corrected averages into");
    auto slots = collect_slots(ctx, averages, values, {{"outs", outs}}, "values", "averages");
    EMAHyper h{beta, 1.0 - beta, bias_correction ? 1.0 - std::pow(double(beta), double(step)) : 0.0, !outs.is_none()};
    auto f32 = runtime::kernels().ema[kFloat32], f64 = runtime::kernels().ema[kFloat64];
    ReleasedGIL nogil;
    runtime::for_each_slot_range(slots.data(), slots.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
        (s.dtype == kFloat64 ? f64 : f32)(h, s, b, e);
    });
}

void ewma_scan(py::object x_obj, py::object out_obj, Real beta, int axis, Flag bias_correction) {
    const Context ctx{"ewma", py::none()};
    check_beta(ctx, "beta", beta);
    py::list xs, outs;
    xs.append(x_obj);
    outs.append(out_obj);
    // reuse the slot checks: out plays the written parameter, x the read-only gradient
    auto slots = collect_slots(ctx, outs, xs, {}, "series", "out");
    py::array x = py::reinterpret_borrow<py::array>(x_obj);
    if (!(x.flags() & py::array::c_style) || x.ndim() == 0)
        throw py::value_error("ewma: series must be a C-contiguous array with at least one dimension");
    const int nd = int(x.ndim());
    if (axis < -nd || axis >= nd)
        throw py::index_error("ewma: axis " + std::to_string(axis) + " is out of bounds for an array of dimension " +
                              std::to_string(nd));
    if (axis < 0) axis += nd;
    EWMAScan a;
    a.x = x.data();
    a.out = slots[0].param;
    a.outer = 1;
    a.inner = 1;
    for (int d = 0; d < axis; ++d) a.outer *= std::size_t(x.shape(d));
    a.length = std::size_t(x.shape(axis));
    for (int d = axis + 1; d < nd; ++d) a.inner *= std::size_t(x.shape(d));
    a.beta = beta;
    a.one_minus_beta = 1.0 - beta;
    // an empty array (possibly with a huge time axis, e.g. shape (0, 2**45)) has nothing to
    // scan: return before sizing the bias-correction table by the axis length
    if (a.outer * a.length * a.inner == 0) return;
    std::vector<double> bc;
    if (bias_correction) {
        bc.resize(a.length);
        for (std::size_t t = 0; t < a.length; ++t) bc[t] = 1.0 - std::pow(double(beta), double(t + 1));
        a.bias_correction = bc.data();
    }
    auto scan = runtime::kernels().ewma_scan[slots[0].dtype];
    const std::size_t blocks = a.inner == 1 ? 1 : (a.inner + kEWMABlock - 1) / kEWMABlock;
    const std::size_t per_item = a.length * (a.inner == 1 ? 1 : std::min(a.inner, kEWMABlock));
    ReleasedGIL nogil;
    runtime::parallel_items(a.outer * blocks, per_item, [&](std::size_t b, std::size_t e) { scan(a, b, e); });
}

}  // namespace

void register_ema(py::module_& m) {
    using namespace py::literals;
    m.def("ema_update", &ema_update, "averages"_a, "values"_a, py::kw_only(), "beta"_a, "step"_a,
          "bias_correction"_a = false, "outs"_a = py::none(), "names"_a = py::none(),
          "Running averages in place: v := beta * v + (1 - beta) * x; optionally, in the same pass, "
          "outs := v / (1 - beta**step) (bias_correction) or outs := v.");
    m.def("ewma_scan", &ewma_scan, "series"_a, "out"_a, py::kw_only(), "beta"_a, "axis"_a = -1,
          "bias_correction"_a = true,
          "Whole-series exponentially weighted average along an axis, written into out. "
          "Use simdoptim.ewma, which allocates out and converts dtypes.");
}

}  // namespace bindings
}  // namespace simdoptim
