// ema.cpp - one streaming update of a running average kept beside training (weights or
// any array): v := beta * v + (1 - beta) * x, and optionally, in the same pass,
// out := v / (1 - beta^t) (bias correction) or out := v. Mirrors reference.ema_update.
#include "ema.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T, bool OUT, bool CORRECT>
void ema_range(const EMAHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict avg = static_cast<T*>(s.param);
    const T* __restrict x = static_cast<const T*>(s.grad);
    T* __restrict out = static_cast<T*>(s.param_copy);
    const T beta = T(h.beta), omb = T(h.one_minus_beta), bc = T(h.bias_correction);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        V vi = V::set1(beta) * V::load(avg + i) + V::set1(omb) * V::load(x + i);  // v = beta*v + (1-beta)*x
        vi.store(avg + i);
        if constexpr (OUT) {
            if constexpr (CORRECT) vi = vi / V::set1(bc);  // out = v / (1 - beta^t)
            vi.store(out + i);
        }
    });
}

template <class T>
void ema(const EMAHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    if (!s.param_copy) return ema_range<T, false, false>(h, s, begin, end);
    if (h.bias_correction != 0.0) return ema_range<T, true, true>(h, s, begin, end);
    ema_range<T, true, false>(h, s, begin, end);
}

constexpr KernelEntry kKernels[] = {
    update_kernel("ema", same_dtypes(kFloat32), with_hyper<EMAHyper, ema<float>>),
    update_kernel("ema", same_dtypes(kFloat64), with_hyper<EMAHyper, ema<double>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
