// ema.cpp - the streaming exponential moving average as an algorithm of the optimizer core
// (plan.h): v := beta * v + (1 - beta) * x, with the step's output (outs, the Slot's
// param_copy) v / (1 - beta^t) or v written in the same pass. Kernel: kernels/ema.cpp;
// reference: reference.ema_update.
#include <cmath>

#include "../kernels/ema.h"
#include "plan.h"

namespace simdoptim {
namespace bindings {
namespace {

// fields: beta, bias_correction
void build(const double* v, long long step, void* out) {
    EMAHyper& h = *static_cast<EMAHyper*>(out);
    h.beta = v[0];
    h.one_minus_beta = 1.0 - v[0];
    h.bias_correction = v[1] != 0.0 ? 1.0 - std::pow(v[0], double(step)) : 0.0;
}

}  // namespace

SIMDOPTIM_BINDING(ema) {
    (void)m;
    register_op({"ema", {"beta", "bias_correction"}, {}, sizeof(EMAHyper), build, nullptr});
}

}  // namespace bindings
}  // namespace simdoptim
