// momentum.cpp - momentum as an algorithm of the optimizer core (plan.h):
// v := beta * v + c * g with c = 1 - beta ("ema" form) or 1 ("sum" form); w := w - lr * v
// (Nesterov: w := w - lr * (beta * v + c * g)). Kernel: kernels/momentum.cpp; reference:
// reference.momentum_update.
#include "../kernels/momentum.h"
#include "plan.h"

namespace simdoptim {
namespace bindings {
namespace {

// fields: lr, beta, sum_form (0: "ema", 1: "sum"), nesterov, weight_decay, dampening
// dampening (torch.optim.SGD's, sum form only): v := beta * v + (1 - dampening) * g. It is 0
// in the NumPy API, where 1 - 0 = 1 keeps the sum form's results bit for bit.
void build(const double* v, long long, void* out) {
    MomentumHyper& h = *static_cast<MomentumHyper*>(out);
    h.lr = v[0];
    h.beta = v[1];
    h.grad_scale = v[2] != 0.0 ? 1.0 - v[5] : 1.0 - v[1];  // (1 - dampening) or (1 - beta) in float64
    h.nesterov = v[3] != 0.0;
    h.weight_decay = v[4];
}

}  // namespace

SIMDOPTIM_BINDING(momentum) {
    (void)m;
    register_op({"momentum", {"lr", "beta", "sum_form", "nesterov", "weight_decay", "dampening"}, {"velocities"},
                 sizeof(MomentumHyper), build, nullptr,
                 kOpGradPrologue | kOpCopies});
}

}  // namespace bindings
}  // namespace simdoptim
