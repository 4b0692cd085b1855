// adagrad.cpp - Adagrad (Duchi, Hazan & Singer 2011; torch.optim.Adagrad's options).
//
//   maximize: g := -g;  weight decay: g := g + wd * w
//   s := s + g*g
//   w := w - lr_t * g / (sqrt(s) + eps),   lr_t = lr / (1 + (t - 1) * lr_decay) (float64, binding)
//
// Reads w, g, s and writes w, s: 20 bytes per fp32 element, so it is bound by memory outside
// the cache like RMSprop. Negation is exact, so maximize costs no rounding. Mirrors
// reference.adagrad_update operation for operation (no FMA, same association).
#include "adagrad.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T, bool WD, bool MAXIMIZE>
void adagrad_range(const AdagradHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict w = static_cast<T*>(s.param);
    const T* __restrict g = static_cast<const T*>(s.grad);
    T* __restrict sum = static_cast<T*>(s.state[0]);
    const T lr = T(h.lr), eps = T(h.eps), wd = T(h.weight_decay);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        V wi = V::load(w + i);
        V gi = V::load(g + i);
        if constexpr (MAXIMIZE) gi = V::set1(T(-1)) * gi;              // g = -g (times -1: exact, -0 for +0)
        if constexpr (WD) gi = gi + V::set1(wd) * wi;                   // g = g + wd * w
        V si = V::load(sum + i) + gi * gi;                              // s = s + g*g
        si.store(sum + i);
        wi = wi - (V::set1(lr) * gi) / (sqrt(si) + V::set1(eps));      // w = w - lr_t * g / (sqrt(s) + eps)
        wi.store(w + i);
    });
}

template <class T>
void adagrad(const AdagradHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const bool wd = h.weight_decay != 0.0;
    if (wd && h.maximize) return adagrad_range<T, true, true>(h, s, begin, end);
    if (wd) return adagrad_range<T, true, false>(h, s, begin, end);
    if (h.maximize) return adagrad_range<T, false, true>(h, s, begin, end);
    adagrad_range<T, false, false>(h, s, begin, end);
}

constexpr KernelEntry kKernels[] = {
    update_kernel("adagrad", same_dtypes(kFloat32), with_hyper<AdagradHyper, adagrad<float>>),
    update_kernel("adagrad", same_dtypes(kFloat64), with_hyper<AdagradHyper, adagrad<double>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
