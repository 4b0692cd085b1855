// rmsprop.cpp - RMSprop, optionally centered and with momentum (PyTorch's variants).
//
//   s := beta2 * s + (1 - beta2) * g*g
//   centered: a := beta2 * a + (1 - beta2) * g, and max(s - a*a, 0) replaces s below
//   denom = sqrt(s + eps_root) + eps
//   plain:    w := w - lr * g / denom
//   momentum: b := momentum * b + g / denom; w := w - lr * b
//
// Plain RMSprop reads w, g, s and writes w, s: 20 bytes per fp32 element.
// Mirrors reference.rmsprop_update. Every dtype combination is one template (see gd.cpp):
// stochastic streams 0 (w), 1 (s), 2 (a), 3 (b).
#include "rmsprop.h"

#include "lowp.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class P, class G, class S, bool WD, bool CENTERED, bool MOMENTUM, bool EXTRAS>
void rmsprop_range(const RMSpropHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    using T = compute_t<P>;
    P* __restrict w = static_cast<P*>(s.param);
    const G* __restrict g = static_cast<const G*>(s.grad);
    S* __restrict sq = static_cast<S*>(s.state[0]);
    S* __restrict ga = static_cast<S*>(s.state[1]);
    S* __restrict buf = static_cast<S*>(s.state[2]);
    const T lr = T(h.lr), beta2 = T(h.beta2), omb2 = T(h.one_minus_beta2), eps = T(h.eps),
            eps_root = T(h.eps_root), wd = T(h.weight_decay), mom = T(h.momentum);
    const GradPrologue<T> prologue(EXTRAS ? s.common : nullptr, true);
    const bool stochastic = EXTRAS && (is_lowp<P> || is_lowp<S>) && s.common && s.common->stochastic;
    void* const copy = EXTRAS ? s.param_copy : nullptr;
    const DType copy_dtype = s.copy_dtype;
    const unsigned streams = (is_lowp<P> ? 1u : 0u) | (is_lowp<S> ? (2u | (CENTERED ? 4u : 0u) | (MOMENTUM ? 8u : 0u)) : 0u);
    alignas(64) std::uint32_t rnd[4][kRandomBatch];
    for_each_element<T>(s, begin, end, stochastic, streams, rnd, [&](auto tag, std::size_t i, std::size_t j) SIMDOPTIM_BODY {
        using V = decltype(tag);
        V wi = load_as<V>(w + i);
        V gi = load_as<V>(g + i);
        if constexpr (EXTRAS) gi = prologue(gi);                                    // g = g / S; g = g * clip
        if constexpr (WD) gi = gi + V::set1(wd) * wi;                                // g = g + wd * w
        V si = V::set1(beta2) * load_as<V>(sq + i) + V::set1(omb2) * (gi * gi);  // s = beta2*s + (1-beta2)*(g*g)
        store_rounded(sq + i, si, stochastic, rnd[1] + j);
        V inner = si;
        if constexpr (CENTERED) {
            V ai = V::set1(beta2) * load_as<V>(ga + i) + V::set1(omb2) * gi;  // a = beta2*a + (1-beta2)*g
            store_rounded(ga + i, ai, stochastic, rnd[2] + j);
            // inner = np.maximum(s - a*a, 0): a variance, rounding can take it below 0 (NaN
            // after the sqrt); maximum keeps a NaN of s - a*a, as np.maximum does
            inner = maximum(si - ai * ai, V::set1(T(0)));
        }
        V denom = sqrt(inner + V::set1(eps_root)) + V::set1(eps);  // sqrt(s + eps_root) + eps
        if constexpr (MOMENTUM) {
            V bi = V::set1(mom) * load_as<V>(buf + i) + gi / denom;  // b = momentum*b + g/denom
            store_rounded(buf + i, bi, stochastic, rnd[3] + j);
            wi = wi - V::set1(lr) * bi;  // w = w - lr * b
        } else {
            wi = wi - (V::set1(lr) * gi) / denom;  // w = w - lr * g / denom
        }
        store_rounded(w + i, wi, stochastic, rnd[0] + j);
        if constexpr (EXTRAS) write_copy<P>(copy, copy_dtype, i, wi);
    });
}

template <class P, class G, class S, bool EXTRAS>
void rmsprop_opts(const RMSpropHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const int key = (h.weight_decay != 0.0 ? 4 : 0) | (h.centered ? 2 : 0) | (h.use_momentum ? 1 : 0);
    switch (key) {
        case 0: return rmsprop_range<P, G, S, false, false, false, EXTRAS>(h, s, begin, end);
        case 1: return rmsprop_range<P, G, S, false, false, true, EXTRAS>(h, s, begin, end);
        case 2: return rmsprop_range<P, G, S, false, true, false, EXTRAS>(h, s, begin, end);
        case 3: return rmsprop_range<P, G, S, false, true, true, EXTRAS>(h, s, begin, end);
        case 4: return rmsprop_range<P, G, S, true, false, false, EXTRAS>(h, s, begin, end);
        case 5: return rmsprop_range<P, G, S, true, false, true, EXTRAS>(h, s, begin, end);
        case 6: return rmsprop_range<P, G, S, true, true, false, EXTRAS>(h, s, begin, end);
        default: return rmsprop_range<P, G, S, true, true, true, EXTRAS>(h, s, begin, end);
    }
}

// P, G, S: the element types of the parameter, the gradient and the state (lowp.h).
// float32/float64 throughout without unscaling, clipping or a copy: the plain loop.
template <class P, class G, class S>
void rmsprop(const RMSpropHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    constexpr bool lowp = is_lowp<P> || is_lowp<G> || is_lowp<S>;
    if (lowp || needs_extras(s)) return rmsprop_opts<P, G, S, true>(h, s, begin, end);
    if constexpr (!lowp) rmsprop_opts<P, G, S, false>(h, s, begin, end);
}

#define SIMDOPTIM_RMSPROP(P, G, S, p, g, st) \
    update_kernel("rmsprop", DTypes{P, G, S}, with_hyper<RMSpropHyper, rmsprop<p, g, st>>)

// the dtype combinations of Adam (adam.cpp)
constexpr KernelEntry kKernels[] = {
    SIMDOPTIM_RMSPROP(kFloat32, kFloat32, kFloat32, float, float, float),
    SIMDOPTIM_RMSPROP(kFloat64, kFloat64, kFloat64, double, double, double),
    SIMDOPTIM_RMSPROP(kFloat32, kBFloat16, kFloat32, float, bf16, float),
    SIMDOPTIM_RMSPROP(kFloat32, kFloat16, kFloat32, float, f16, float),
    SIMDOPTIM_RMSPROP(kFloat32, kFloat32, kBFloat16, float, float, bf16),
    SIMDOPTIM_RMSPROP(kFloat32, kFloat32, kFloat16, float, float, f16),
    SIMDOPTIM_RMSPROP(kFloat32, kBFloat16, kBFloat16, float, bf16, bf16),
    SIMDOPTIM_RMSPROP(kFloat32, kFloat16, kFloat16, float, f16, f16),
    SIMDOPTIM_RMSPROP(kFloat32, kBFloat16, kFloat16, float, bf16, f16),
    SIMDOPTIM_RMSPROP(kFloat32, kFloat16, kBFloat16, float, f16, bf16),
    SIMDOPTIM_RMSPROP(kBFloat16, kBFloat16, kFloat32, bf16, bf16, float),
    SIMDOPTIM_RMSPROP(kBFloat16, kBFloat16, kBFloat16, bf16, bf16, bf16),
    SIMDOPTIM_RMSPROP(kFloat16, kFloat16, kFloat32, f16, f16, float),
    SIMDOPTIM_RMSPROP(kFloat16, kFloat16, kFloat16, f16, f16, f16),
};
#undef SIMDOPTIM_RMSPROP

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
