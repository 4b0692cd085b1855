// register_optimizers.cpp - the multi-tensor update functions: gd, momentum, rmsprop, adam.
//
// Each takes lists of arrays (one entry per parameter tensor), validates all of them
// (checks.h), then releases the GIL and makes ONE pass over every tensor in ONE parallel
// region. Per-step scalars (bias corrections, the decoupled decay factor) are computed here
// once in float64 exactly as simdoptim.reference computes them in Python.
#include <cmath>

#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"
#include "register.h"

namespace simdoptim {
namespace bindings {
namespace {

template <class H>
void run(const std::vector<Slot>& slots, const H& h, UpdateKernel<H> const (&table)[kNumDTypes]) {
    UpdateKernel<H> f32 = table[kFloat32], f64 = table[kFloat64];
    ReleasedGIL nogil;
    runtime::for_each_slot_range(slots.data(), slots.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
        (s.dtype == kFloat64 ? f64 : f32)(h, s, b, e);
    });
}

void check_lr(const Context& ctx, double lr) { check_finite_nonnegative(ctx, "lr", lr); }

void gd_update(py::object params, py::object grads, Real lr, Real weight_decay, py::object names) {
    const Context ctx{"gd_update", names};
    check_lr(ctx, lr);
    check_finite_nonnegative(ctx, "weight_decay", weight_decay);
    auto slots = collect_slots(ctx, params, grads, {});
    run(slots, GDHyper{lr, weight_decay}, runtime::kernels().gd);
}

void momentum_update(py::object params, py::object grads, py::object velocities, Real lr, Real beta,
                     py::object form_obj, Flag nesterov, Real weight_decay, py::object names) {
    const Context ctx{"momentum_update", names};
    check_lr(ctx, lr);
    check_beta(ctx, "beta", beta);
    check_finite_nonnegative(ctx, "weight_decay", weight_decay);
    const std::string form = PyUnicode_Check(form_obj.ptr()) ? form_obj.cast<std::string>() : std::string("?");
    if (form != "ema" && form != "sum")
        throw py::value_error("momentum_update: form must be 'ema' (v = beta*v + (1-beta)*g) or 'sum' "
                              "(v = beta*v + g), got " + std::string(py::repr(form_obj)));
    auto slots = collect_slots(ctx, params, grads, {{"velocities", velocities}});
    const double grad_scale = form == "ema" ? 1.0 - beta : 1.0;
    run(slots, MomentumHyper{lr, beta, grad_scale, weight_decay, nesterov}, runtime::kernels().momentum);
}

void rmsprop_update(py::object params, py::object grads, py::object square_avgs, Real lr, Real beta2, Real eps,
                    Real eps_root, Real weight_decay, Real momentum, py::object grad_avgs,
                    py::object momentum_buffers, py::object names) {
    const Context ctx{"rmsprop_update", names};
    check_lr(ctx, lr);
    check_beta(ctx, "beta2", beta2);
    check_finite_nonnegative(ctx, "eps", eps);
    check_finite_nonnegative(ctx, "eps_root", eps_root);
    check_finite_nonnegative(ctx, "weight_decay", weight_decay);
    check_beta(ctx, "momentum", momentum);
    const bool centered = !grad_avgs.is_none();
    const bool use_momentum = momentum != 0.0;
    if (use_momentum && momentum_buffers.is_none())
        throw py::value_error("rmsprop_update: momentum_buffers is required when momentum > 0");
    auto slots = collect_slots(ctx, params, grads,
                               {{"square_avgs", square_avgs},
                                {"grad_avgs", grad_avgs},
                                {"momentum_buffers", use_momentum ? momentum_buffers : py::none()}});
    run(slots, RMSpropHyper{lr, beta2, 1.0 - beta2, eps, eps_root, weight_decay, momentum, centered, use_momentum},
        runtime::kernels().rmsprop);
}

void adam_update(py::object params, py::object grads, py::object exp_avgs, py::object exp_avg_sqs, Count step,
                 Real lr, Real beta1, Real beta2, Real eps, Real eps_root, Real weight_decay,
                 Flag decoupled, py::object max_exp_avg_sqs, py::object names) {
    const Context ctx{"adam_update", names};
    if (step < 1) throw py::value_error("adam_update: step must be >= 1 (the number of this update), got " + std::to_string(step.value));
    check_lr(ctx, lr);
    check_beta(ctx, "beta1", beta1);
    check_beta(ctx, "beta2", beta2);
    check_finite_nonnegative(ctx, "eps", eps);
    check_finite_nonnegative(ctx, "eps_root", eps_root);
    check_finite_nonnegative(ctx, "weight_decay", weight_decay);
    auto slots = collect_slots(ctx, params, grads,
                               {{"exp_avgs", exp_avgs}, {"exp_avg_sqs", exp_avg_sqs}, {"max_exp_avg_sqs", max_exp_avg_sqs}});
    AdamHyper h;
    h.lr = lr;
    h.beta1 = beta1;
    h.one_minus_beta1 = 1.0 - beta1;
    h.beta2 = beta2;
    h.one_minus_beta2 = 1.0 - beta2;
    h.eps = eps;
    h.eps_root = eps_root;
    h.weight_decay = weight_decay;
    h.decay = 1.0 - lr * weight_decay;
    // Python's float ** int calls the C library's pow on doubles, as this does.
    h.bias_correction1 = 1.0 - std::pow(double(beta1), double(step));
    h.bias_correction2 = 1.0 - std::pow(double(beta2), double(step));
    h.decoupled = decoupled;
    h.amsgrad = !max_exp_avg_sqs.is_none();
    run(slots, h, runtime::kernels().adam);
}

}  // namespace

void register_optimizers(py::module_& m) {
    using namespace py::literals;
    m.def("gd_update", &gd_update, "params"_a, "grads"_a, py::kw_only(), "lr"_a, "weight_decay"_a = 0.0,
          "names"_a = py::none(),
          "Gradient descent in place: w := w - lr * (g + weight_decay * w). See simdoptim.reference.gd_update.");
    m.def("momentum_update", &momentum_update, "params"_a, "grads"_a, "velocities"_a, py::kw_only(), "lr"_a,
          "beta"_a = 0.9, "form"_a = "ema", "nesterov"_a = false, "weight_decay"_a = 0.0, "names"_a = py::none(),
          "Momentum in place. See simdoptim.reference.momentum_update.");
    m.def("rmsprop_update", &rmsprop_update, "params"_a, "grads"_a, "square_avgs"_a, py::kw_only(), "lr"_a,
          "beta2"_a = 0.99, "eps"_a = 1e-8, "eps_root"_a = 0.0, "weight_decay"_a = 0.0, "momentum"_a = 0.0,
          "grad_avgs"_a = py::none(), "momentum_buffers"_a = py::none(), "names"_a = py::none(),
          "RMSprop in place. See simdoptim.reference.rmsprop_update.");
    m.def("adam_update", &adam_update, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, py::kw_only(), "step"_a,
          "lr"_a = 0.001, "beta1"_a = 0.9, "beta2"_a = 0.999, "eps"_a = 1e-8, "eps_root"_a = 0.0,
          "weight_decay"_a = 0.0, "decoupled"_a = false, "max_exp_avg_sqs"_a = py::none(), "names"_a = py::none(),
          "Adam / AdamW / AMSGrad in place. See simdoptim.reference.adam_update.");
}

}  // namespace bindings
}  // namespace simdoptim
