// momentum.cpp - gradient descent with momentum, both forms and Nesterov.
//
//   v := beta * v + c * g,   c = 1 - beta ("ema" form) or 1 ("sum" form, PyTorch SGD)
//   w := w - lr * d,         d = v, or beta * v + c * g with Nesterov
//
// For the "sum" form c * g is g times 1.0, which is exact, so one loop serves both forms.
// Reads w, g, v and writes w, v: 20 bytes per fp32 element. Mirrors reference.momentum_update.
#include "momentum.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T, bool WD, bool NESTEROV>
void momentum_range(const MomentumHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict w = static_cast<T*>(s.param);
    const T* __restrict g = static_cast<const T*>(s.grad);
    T* __restrict v = static_cast<T*>(s.state[0]);
    const T lr = T(h.lr), beta = T(h.beta), c = T(h.grad_scale), wd = T(h.weight_decay);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        V wi = V::load(w + i);
        V gi = V::load(g + i);
        if constexpr (WD) gi = gi + V::set1(wd) * wi;               // g = g + wd * w
        V vi = V::set1(beta) * V::load(v + i) + V::set1(c) * gi;    // v = beta*v + c*g
        vi.store(v + i);
        if constexpr (NESTEROV) {
            wi = wi - V::set1(lr) * (V::set1(beta) * vi + V::set1(c) * gi);  // w = w - lr*(beta*v + c*g)
        } else {
            wi = wi - V::set1(lr) * vi;  // w = w - lr * v
        }
        wi.store(w + i);
    });
}

template <class T>
void momentum(const MomentumHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const bool wd = h.weight_decay != 0.0;
    if (wd && h.nesterov) return momentum_range<T, true, true>(h, s, begin, end);
    if (wd) return momentum_range<T, true, false>(h, s, begin, end);
    if (h.nesterov) return momentum_range<T, false, true>(h, s, begin, end);
    momentum_range<T, false, false>(h, s, begin, end);
}

constexpr KernelEntry kKernels[] = {
    update_kernel("momentum", same_dtypes(kFloat32), with_hyper<MomentumHyper, momentum<float>>),
    update_kernel("momentum", same_dtypes(kFloat64), with_hyper<MomentumHyper, momentum<double>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
