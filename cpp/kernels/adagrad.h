// adagrad.h - the hyper-parameters of Adagrad (kernel adagrad.cpp, binding bindings/adagrad.cpp).
#pragma once

namespace simdoptim {

// state[0] = s (the running sum of squared gradients)
struct AdagradHyper {
    double lr;            // the decayed rate of this step, lr / (1 + (t - 1) * lr_decay), float64
    double eps;
    double weight_decay;  // L2: added to g
    bool maximize;        // g := -g first (torch.optim's maximize)
};

}  // namespace simdoptim
