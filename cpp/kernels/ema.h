// ema.h - the hyper-parameters of the streaming EMA (kernel ema.cpp, binding bindings/ema.cpp).
#pragma once

namespace simdoptim {

// param = the running average v (written), grad = the new value x, param_copy = the
// optional output of this step (v / bias_correction, or v).
struct EMAHyper {
    double beta;
    double one_minus_beta;
    double bias_correction;  // 1 - beta^t; 0 means "no correction"
};

}  // namespace simdoptim
