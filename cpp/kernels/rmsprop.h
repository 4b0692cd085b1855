// rmsprop.h - the hyper-parameters of RMSprop (kernel rmsprop.cpp, binding bindings/rmsprop.cpp).
#pragma once

namespace simdoptim {

// state[0] = s (square average), state[1] = grad average (centered), state[2] = momentum buffer
struct RMSpropHyper {
    double lr;
    double beta2;
    double one_minus_beta2;
    double eps;
    double eps_root;
    double weight_decay;
    double momentum;
    bool centered;
    bool use_momentum;
};

}  // namespace simdoptim
