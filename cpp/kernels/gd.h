// gd.h - the hyper-parameters of gradient descent (kernel gd.cpp, binding bindings/gd.cpp).
#pragma once

namespace simdoptim {

// w := w - lr * (g + weight_decay * w)
struct GDHyper {
    double lr;
    double weight_decay;
};

}  // namespace simdoptim
