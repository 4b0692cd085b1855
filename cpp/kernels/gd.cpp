// gd.cpp - plain (mini-batch) gradient descent: w := w - lr * (g + weight_decay * w).
// Reads w and g, writes w: 12 bytes per fp32 element. Mirrors reference.gd_update.
#include "gd.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T, bool WD>
void gd_range(const GDHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict w = static_cast<T*>(s.param);
    const T* __restrict g = static_cast<const T*>(s.grad);
    const T lr = T(h.lr), wd = T(h.weight_decay);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        V wi = V::load(w + i);
        V gi = V::load(g + i);
        if constexpr (WD) gi = gi + V::set1(wd) * wi;  // g = g + wd * w
        wi = wi - V::set1(lr) * gi;                     // w = w - lr * g
        wi.store(w + i);
    });
}

template <class T>
void gd(const GDHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    if (h.weight_decay != 0.0) return gd_range<T, true>(h, s, begin, end);
    gd_range<T, false>(h, s, begin, end);
}

constexpr KernelEntry kKernels[] = {
    update_kernel("gd", same_dtypes(kFloat32), with_hyper<GDHyper, gd<float>>),
    update_kernel("gd", same_dtypes(kFloat64), with_hyper<GDHyper, gd<double>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
