// adagrad.cpp - Adagrad as an algorithm of the optimizer core (plan.h), with torch.optim.Adagrad's
// options. The step's rate lr / (1 + (t - 1) * lr_decay) is computed here once per step in
// float64, as simdoptim.reference computes it. Kernel: kernels/adagrad.cpp; reference:
// reference.adagrad_update.
#include "../kernels/adagrad.h"
#include "plan.h"

namespace simdoptim {
namespace bindings {
namespace {

// fields: lr, lr_decay, eps, weight_decay, maximize (initial_accumulator_value only sets the
// state's start value, on the Python side)
void build(const double* v, long long step, void* out) {
    AdagradHyper& h = *static_cast<AdagradHyper*>(out);
    h.lr = v[0] / (1.0 + double(step - 1) * v[1]);
    h.eps = v[2];
    h.weight_decay = v[3];
    h.maximize = v[4] != 0.0;
}

}  // namespace

SIMDOPTIM_BINDING(adagrad) {
    (void)m;
    register_op({"adagrad", {"lr", "lr_decay", "eps", "weight_decay", "maximize"}, {"state_sums"},
                 sizeof(AdagradHyper), build, nullptr});
}

}  // namespace bindings
}  // namespace simdoptim
