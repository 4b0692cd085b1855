// adam.cpp - Adam / AdamW / AMSGrad as an algorithm of the optimizer core (plan.h). The
// bias corrections 1 - beta^t are computed here once per step in float64, as
// simdoptim.reference computes them. Kernel: kernels/adam.cpp; reference: reference.adam_update.
#include <cmath>

#include "../kernels/adam.h"
#include "plan.h"

namespace simdoptim {
namespace bindings {
namespace {

// fields: lr, beta1, beta2, eps, eps_root, weight_decay, decoupled, amsgrad
void build(const double* v, long long step, void* out) {
    AdamHyper& h = *static_cast<AdamHyper*>(out);
    h.lr = v[0];
    h.beta1 = v[1];
    h.one_minus_beta1 = 1.0 - v[1];
    h.beta2 = v[2];
    h.one_minus_beta2 = 1.0 - v[2];
    h.eps = v[3];
    h.eps_root = v[4];
    h.weight_decay = v[5];
    h.decay = 1.0 - v[0] * v[5];
    // Python's float ** int calls the C library's pow on doubles, as this does.
    h.bias_correction1 = 1.0 - std::pow(v[1], double(step));
    h.bias_correction2 = 1.0 - std::pow(v[2], double(step));
    h.decoupled = v[6] != 0.0;
    h.amsgrad = v[7] != 0.0;
}

// exp_avgs and exp_avg_sqs always; max_exp_avg_sqs with AMSGrad
bool uses_state(const double* v, std::size_t k) { return k < 2 || v[7] != 0.0; }

}  // namespace

SIMDOPTIM_BINDING(adam) {
    (void)m;
    register_op({"adam", {"lr", "beta1", "beta2", "eps", "eps_root", "weight_decay", "decoupled", "amsgrad"},
                 {"exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs"}, sizeof(AdamHyper), build, uses_state});
}

}  // namespace bindings
}  // namespace simdoptim
