// adam.h - the hyper-parameters of Adam/AdamW/AMSGrad (kernel adam.cpp, binding bindings/adam.cpp).
#pragma once

namespace simdoptim {

// state[0] = m, state[1] = v, state[2] = v_max (AMSGrad)
struct AdamHyper {
    double lr;
    double beta1;
    double one_minus_beta1;
    double beta2;
    double one_minus_beta2;
    double eps;
    double eps_root;
    double weight_decay;      // L2: added to g
    double decay;             // decoupled: w := w * decay, decay = 1 - lr * weight_decay
    double bias_correction1;  // 1 - beta1^t
    double bias_correction2;  // 1 - beta2^t
    bool decoupled;
    bool amsgrad;
};

}  // namespace simdoptim
