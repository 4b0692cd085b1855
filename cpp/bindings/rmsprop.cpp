// rmsprop.cpp - RMSprop as an algorithm of the optimizer core (plan.h), with PyTorch's
// centered and momentum variants. Kernel: kernels/rmsprop.cpp; reference: reference.rmsprop_update.
#include "../kernels/rmsprop.h"
#include "plan.h"

namespace simdoptim {
namespace bindings {
namespace {

// fields: lr, beta2, eps, eps_root, weight_decay, momentum, centered
void build(const double* v, long long, void* out) {
    RMSpropHyper& h = *static_cast<RMSpropHyper*>(out);
    h.lr = v[0];
    h.beta2 = v[1];
    h.one_minus_beta2 = 1.0 - v[1];
    h.eps = v[2];
    h.eps_root = v[3];
    h.weight_decay = v[4];
    h.momentum = v[5];
    h.centered = v[6] != 0.0;
    h.use_momentum = v[5] != 0.0;
}

// square_avgs always; grad_avgs when centered; momentum_buffers when momentum != 0
bool uses_state(const double* v, std::size_t k) { return k == 0 || (k == 1 && v[6] != 0.0) || (k == 2 && v[5] != 0.0); }

}  // namespace

SIMDOPTIM_BINDING(rmsprop) {
    (void)m;
    register_op({"rmsprop", {"lr", "beta2", "eps", "eps_root", "weight_decay", "momentum", "centered"},
                 {"square_avgs", "grad_avgs", "momentum_buffers"}, sizeof(RMSpropHyper), build, uses_state,
                 kOpGradPrologue | kOpCopies});
}

}  // namespace bindings
}  // namespace simdoptim
