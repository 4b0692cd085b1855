// rmsprop.cpp - RMSprop, optionally centered and with momentum (PyTorch's variants).
//
//   s := beta2 * s + (1 - beta2) * g*g
//   centered: a := beta2 * a + (1 - beta2) * g, and max(s - a*a, 0) replaces s below
//   denom = sqrt(s + eps_root) + eps
//   plain:    w := w - lr * g / denom
//   momentum: b := momentum * b + g / denom; w := w - lr * b
//
// Plain RMSprop reads w, g, s and writes w, s: 20 bytes per fp32 element.
// Mirrors reference.rmsprop_update.
#include "rmsprop.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T, bool WD, bool CENTERED, bool MOMENTUM>
void rmsprop_range(const RMSpropHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict w = static_cast<T*>(s.param);
    const T* __restrict g = static_cast<const T*>(s.grad);
    T* __restrict sq = static_cast<T*>(s.state[0]);
    T* __restrict ga = static_cast<T*>(s.state[1]);
    T* __restrict buf = static_cast<T*>(s.state[2]);
    const T lr = T(h.lr), beta2 = T(h.beta2), omb2 = T(h.one_minus_beta2), eps = T(h.eps),
            eps_root = T(h.eps_root), wd = T(h.weight_decay), mom = T(h.momentum);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        V wi = V::load(w + i);
        V gi = V::load(g + i);
        if constexpr (WD) gi = gi + V::set1(wd) * wi;                           // g = g + wd * w
        V si = V::set1(beta2) * V::load(sq + i) + V::set1(omb2) * (gi * gi);  // s = beta2*s + (1-beta2)*(g*g)
        si.store(sq + i);
        V inner = si;
        if constexpr (CENTERED) {
            V ai = V::set1(beta2) * V::load(ga + i) + V::set1(omb2) * gi;  // a = beta2*a + (1-beta2)*g
            ai.store(ga + i);
            // inner = np.maximum(s - a*a, 0): a variance, rounding can take it below 0 (NaN
            // after the sqrt); maximum keeps a NaN of s - a*a, as np.maximum does
            inner = maximum(si - ai * ai, V::set1(T(0)));
        }
        V denom = sqrt(inner + V::set1(eps_root)) + V::set1(eps);  // sqrt(s + eps_root) + eps
        if constexpr (MOMENTUM) {
            V bi = V::set1(mom) * V::load(buf + i) + gi / denom;  // b = momentum*b + g/denom
            bi.store(buf + i);
            wi = wi - V::set1(lr) * bi;  // w = w - lr * b
        } else {
            wi = wi - (V::set1(lr) * gi) / denom;  // w = w - lr * g / denom
        }
        wi.store(w + i);
    });
}

template <class T>
void rmsprop(const RMSpropHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const int key = (h.weight_decay != 0.0 ? 4 : 0) | (h.centered ? 2 : 0) | (h.use_momentum ? 1 : 0);
    switch (key) {
        case 0: return rmsprop_range<T, false, false, false>(h, s, begin, end);
        case 1: return rmsprop_range<T, false, false, true>(h, s, begin, end);
        case 2: return rmsprop_range<T, false, true, false>(h, s, begin, end);
        case 3: return rmsprop_range<T, false, true, true>(h, s, begin, end);
        case 4: return rmsprop_range<T, true, false, false>(h, s, begin, end);
        case 5: return rmsprop_range<T, true, false, true>(h, s, begin, end);
        case 6: return rmsprop_range<T, true, true, false>(h, s, begin, end);
        default: return rmsprop_range<T, true, true, true>(h, s, begin, end);
    }
}

constexpr KernelEntry kKernels[] = {
    update_kernel("rmsprop", same_dtypes(kFloat32), with_hyper<RMSpropHyper, rmsprop<float>>),
    update_kernel("rmsprop", same_dtypes(kFloat64), with_hyper<RMSpropHyper, rmsprop<double>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
