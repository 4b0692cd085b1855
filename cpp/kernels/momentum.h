// momentum.h - the hyper-parameters of momentum (kernel momentum.cpp, binding bindings/momentum.cpp).
#pragma once

namespace simdoptim {

// v := beta * v + grad_scale * g; w := w - lr * d, d = v, or beta * v + grad_scale * g
// (Nesterov). grad_scale is 1 - beta for the "ema" form and 1 for the "sum" form.
// state[0] = v
struct MomentumHyper {
    double lr;
    double beta;
    double grad_scale;
    double weight_decay;
    bool nesterov;
};

}  // namespace simdoptim
