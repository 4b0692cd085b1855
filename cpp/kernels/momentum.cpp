// momentum.cpp - gradient descent with momentum, both forms and Nesterov.
//
//   v := beta * v + c * g,   c = 1 - beta ("ema" form) or 1 ("sum" form, PyTorch SGD)
//   w := w - lr * d,         d = v, or beta * v + c * g with Nesterov
//
// For the "sum" form c * g is g times 1.0, which is exact, so one loop serves both forms.
// Reads w, g, v and writes w, v: 20 bytes per fp32 element. Mirrors reference.momentum_update.
// Every dtype combination is one template (see gd.cpp): stochastic streams 0 (w), 1 (v).
#include "momentum.h"

#include "lowp.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class P, class G, class S, bool WD, bool NESTEROV, bool EXTRAS>
void momentum_range(const MomentumHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    using T = compute_t<P>;
    P* __restrict w = static_cast<P*>(s.param);
    const G* __restrict g = static_cast<const G*>(s.grad);
    S* __restrict v = static_cast<S*>(s.state[0]);
    const T lr = T(h.lr), beta = T(h.beta), c = T(h.grad_scale), wd = T(h.weight_decay);
    const GradPrologue<T> prologue(EXTRAS ? s.common : nullptr, true);
    const bool stochastic = EXTRAS && (is_lowp<P> || is_lowp<S>) && s.common && s.common->stochastic;
    void* const copy = EXTRAS ? s.param_copy : nullptr;
    const DType copy_dtype = s.copy_dtype;
    const unsigned streams = (is_lowp<P> ? 1u : 0u) | (is_lowp<S> ? 2u : 0u);
    alignas(64) std::uint32_t rnd[4][kRandomBatch];
    for_each_element<T>(s, begin, end, stochastic, streams, rnd, [&](auto tag, std::size_t i, std::size_t j) SIMDOPTIM_BODY {
        using V = decltype(tag);
        V wi = load_as<V>(w + i);
        V gi = load_as<V>(g + i);
        if constexpr (EXTRAS) gi = prologue(gi);                             // g = g / S; g = g * clip
        if constexpr (WD) gi = gi + V::set1(wd) * wi;                         // g = g + wd * w
        V vi = V::set1(beta) * load_as<V>(v + i) + V::set1(c) * gi;          // v = beta*v + c*g
        store_rounded(v + i, vi, stochastic, rnd[1] + j);
        if constexpr (NESTEROV) {
            wi = wi - V::set1(lr) * (V::set1(beta) * vi + V::set1(c) * gi);  // w = w - lr*(beta*v + c*g)
        } else {
            wi = wi - V::set1(lr) * vi;  // w = w - lr * v
        }
        store_rounded(w + i, wi, stochastic, rnd[0] + j);
        if constexpr (EXTRAS) write_copy<P>(copy, copy_dtype, i, wi);
    });
}

template <class P, class G, class S, bool EXTRAS>
void momentum_opts(const MomentumHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const bool wd = h.weight_decay != 0.0;
    if (wd && h.nesterov) return momentum_range<P, G, S, true, true, EXTRAS>(h, s, begin, end);
    if (wd) return momentum_range<P, G, S, true, false, EXTRAS>(h, s, begin, end);
    if (h.nesterov) return momentum_range<P, G, S, false, true, EXTRAS>(h, s, begin, end);
    momentum_range<P, G, S, false, false, EXTRAS>(h, s, begin, end);
}

// P, G, S: the element types of the parameter, the gradient and the velocity (lowp.h).
// float32/float64 throughout without unscaling, clipping or a copy: the plain loop.
template <class P, class G, class S>
void momentum(const MomentumHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    constexpr bool lowp = is_lowp<P> || is_lowp<G> || is_lowp<S>;
    if (lowp || needs_extras(s)) return momentum_opts<P, G, S, true>(h, s, begin, end);
    if constexpr (!lowp) momentum_opts<P, G, S, false>(h, s, begin, end);
}

#define SIMDOPTIM_MOMENTUM(P, G, S, p, g, st) \
    update_kernel("momentum", DTypes{P, G, S}, with_hyper<MomentumHyper, momentum<p, g, st>>)

// the dtype combinations of Adam (adam.cpp)
constexpr KernelEntry kKernels[] = {
    SIMDOPTIM_MOMENTUM(kFloat32, kFloat32, kFloat32, float, float, float),
    SIMDOPTIM_MOMENTUM(kFloat64, kFloat64, kFloat64, double, double, double),
    SIMDOPTIM_MOMENTUM(kFloat32, kBFloat16, kFloat32, float, bf16, float),
    SIMDOPTIM_MOMENTUM(kFloat32, kFloat16, kFloat32, float, f16, float),
    SIMDOPTIM_MOMENTUM(kFloat32, kFloat32, kBFloat16, float, float, bf16),
    SIMDOPTIM_MOMENTUM(kFloat32, kFloat32, kFloat16, float, float, f16),
    SIMDOPTIM_MOMENTUM(kFloat32, kBFloat16, kBFloat16, float, bf16, bf16),
    SIMDOPTIM_MOMENTUM(kFloat32, kFloat16, kFloat16, float, f16, f16),
    SIMDOPTIM_MOMENTUM(kFloat32, kBFloat16, kFloat16, float, bf16, f16),
    SIMDOPTIM_MOMENTUM(kFloat32, kFloat16, kBFloat16, float, f16, bf16),
    SIMDOPTIM_MOMENTUM(kBFloat16, kBFloat16, kFloat32, bf16, bf16, float),
    SIMDOPTIM_MOMENTUM(kBFloat16, kBFloat16, kBFloat16, bf16, bf16, bf16),
    SIMDOPTIM_MOMENTUM(kFloat16, kFloat16, kFloat32, f16, f16, float),
    SIMDOPTIM_MOMENTUM(kFloat16, kFloat16, kFloat16, f16, f16, f16),
};
#undef SIMDOPTIM_MOMENTUM

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
