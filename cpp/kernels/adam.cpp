// adam.cpp - Adam / AdamW / AMSGrad, one pass over memory.
//
// fp32 Adam reads w, g, m, v and writes w, m, v once each: 28 bytes per element, which is
// what bounds it outside the cache. The weight-decay mode and AMSGrad are template
// parameters so the loop body carries no branches. Every line follows
// simdoptim.reference.adam_update operation for operation (no FMA, same association),
// which is what makes the result bit-identical to the NumPy reference.
//
// Division is the costly part of the body once the data is in cache (three divides and a
// square root per element). x / 1 == x exactly for every x, so when a bias correction
// rounds to exactly 1 in the element type (float32: 1 - 0.9^t from t = 165 on, 1 -
// 0.999^t from t = 17321; float64: 356 and 37412) its division is left out: the same bits,
// and the steady state of a long training run costs two divides, not three (12-14 % faster
// steps on L2-resident arrays of 3e4-1e5 float32; no change once memory bandwidth binds).
//
// adam_general is the same update for every other case, one template for all of them:
// float16/bfloat16 parameters, gradients and state (float32 arithmetic, lowp.h), a float32
// master with its low-precision copy written in the same pass (Slot::param_copy), the
// gradient unscaled and clipped first (StepCommon), stochastic rounding, and PyTorch's
// operation order (reference.adam_pytorch_update: one division per element). Bytes per
// element: w, m, v read and written and g read at their own sizes, plus the copy written:
// bf16 params, grads and state 14; fp32 master + bf16 grads + bf16 copy 28.
#include "adam.h"

#include <algorithm>
#include <type_traits>

#include "lowp.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

enum WeightDecay { kNone, kL2, kDecoupled };

template <class T, int WD, bool AMSGRAD, bool DIV1, bool DIV2>
void adam_range(const AdamHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict w = static_cast<T*>(s.param);
    const T* __restrict g = static_cast<const T*>(s.grad);
    T* __restrict m = static_cast<T*>(s.state[0]);
    T* __restrict v = static_cast<T*>(s.state[1]);
    T* __restrict vmax = static_cast<T*>(s.state[2]);
    const T lr = T(h.lr), beta1 = T(h.beta1), omb1 = T(h.one_minus_beta1), beta2 = T(h.beta2),
            omb2 = T(h.one_minus_beta2), eps = T(h.eps), eps_root = T(h.eps_root),
            wd = T(h.weight_decay), decay = T(h.decay), bc1 = T(h.bias_correction1),
            bc2 = T(h.bias_correction2);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        V wi = V::load(w + i);
        V gi = V::load(g + i);
        if constexpr (WD == kDecoupled) wi = wi * V::set1(decay);  // w = w * (1 - lr*wd)
        if constexpr (WD == kL2) gi = gi + V::set1(wd) * wi;        // g = g + wd * w
        V mi = V::set1(beta1) * V::load(m + i) + V::set1(omb1) * gi;        // m = beta1*m + (1-beta1)*g
        V vi = V::set1(beta2) * V::load(v + i) + V::set1(omb2) * (gi * gi);  // v = beta2*v + (1-beta2)*(g*g)
        mi.store(m + i);
        vi.store(v + i);
        if constexpr (AMSGRAD) {
            vi = maximum(V::load(vmax + i), vi);  // v_max = maximum(v_max, v)
            vi.store(vmax + i);
        }
        V m_hat = mi, v_hat = vi;
        if constexpr (DIV1) m_hat = mi / V::set1(bc1);  // m_hat = m / (1 - beta1^t)
        if constexpr (DIV2) v_hat = vi / V::set1(bc2);  // v_hat = v / (1 - beta2^t)
        // w = w - lr * m_hat / (sqrt(v_hat + eps_root) + eps)
        wi = wi - (V::set1(lr) * m_hat) / (sqrt(v_hat + V::set1(eps_root)) + V::set1(eps));
        wi.store(w + i);
    });
}

template <class T, int WD, bool AMSGRAD>
void adam_bc(const AdamHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    // the casts are the ones the kernel makes: compare what the kernel would divide by
    const bool div1 = T(h.bias_correction1) != T(1), div2 = T(h.bias_correction2) != T(1);
    if (div1 && div2) return adam_range<T, WD, AMSGRAD, true, true>(h, s, begin, end);
    if (div1) return adam_range<T, WD, AMSGRAD, true, false>(h, s, begin, end);
    if (div2) return adam_range<T, WD, AMSGRAD, false, true>(h, s, begin, end);
    adam_range<T, WD, AMSGRAD, false, false>(h, s, begin, end);
}

template <class T>
void adam(const AdamHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const int wd = h.weight_decay == 0.0 ? kNone : (h.decoupled ? kDecoupled : kL2);
    switch (wd * 2 + (h.amsgrad ? 1 : 0)) {
        case kNone * 2: return adam_bc<T, kNone, false>(h, s, begin, end);
        case kNone * 2 + 1: return adam_bc<T, kNone, true>(h, s, begin, end);
        case kL2 * 2: return adam_bc<T, kL2, false>(h, s, begin, end);
        case kL2 * 2 + 1: return adam_bc<T, kL2, true>(h, s, begin, end);
        case kDecoupled * 2: return adam_bc<T, kDecoupled, false>(h, s, begin, end);
        default: return adam_bc<T, kDecoupled, true>(h, s, begin, end);
    }
}

// The general update: P, G, S the element types of the parameter, the gradient and the state.
// With stochastic rounding each batch of kRandomBatch elements first draws the random bits
// of its low-precision stores (stream 0: w, 1: m, 2: v, 3: v_max), then updates.
template <class P, class G, class S, int WD, bool AMSGRAD, bool TORCH>
void adam_general(const AdamHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    using T = compute_t<P>;
    static_assert(std::is_same_v<compute_t<G>, T> && std::is_same_v<compute_t<S>, T>, "adam: one compute type");
    P* __restrict w = static_cast<P*>(s.param);
    const G* __restrict g = static_cast<const G*>(s.grad);
    S* __restrict m = static_cast<S*>(s.state[0]);
    S* __restrict v = static_cast<S*>(s.state[1]);
    S* __restrict vmax = static_cast<S*>(s.state[2]);
    const T lr = T(h.lr), beta1 = T(h.beta1), omb1 = T(h.one_minus_beta1), beta2 = T(h.beta2),
            omb2 = T(h.one_minus_beta2), eps = T(h.eps), eps_root = T(h.eps_root), wd = T(h.weight_decay),
            decay = T(h.decay), bc1 = T(h.bias_correction1), bc2 = T(h.bias_correction2),
            step_size = T(h.step_size), inv_bc2_sqrt = T(h.inv_bc2_sqrt);
    const GradPrologue<T> prologue(s.common, true);
    const bool stochastic = (is_lowp<P> || is_lowp<S>) && s.common && s.common->stochastic;
    void* const copy = std::is_same_v<P, float> ? s.param_copy : nullptr;  // masters are float32
    const DType copy_dtype = s.copy_dtype;
    alignas(64) std::uint32_t rnd[4][kRandomBatch];
    auto body = [&](auto tag, std::size_t i, std::size_t j) SIMDOPTIM_BODY {
        using V = decltype(tag);
        V wi = load_as<V>(w + i);
        V gi = prologue(load_as<V>(g + i));                                  // g = g / S; g = g * clip
        if constexpr (WD == kDecoupled) wi = wi * V::set1(decay);            // w = w * (1 - lr*wd)
        if constexpr (WD == kL2) gi = gi + V::set1(wd) * wi;                  // g = g + wd * w
        const V mo = load_as<V>(m + i);
        V mi;
        if constexpr (TORCH) {
            mi = mo + V::set1(omb1) * (gi - mo);                              // m = m + (1-beta1)*(g - m)
        } else {
            mi = V::set1(beta1) * mo + V::set1(omb1) * gi;                    // m = beta1*m + (1-beta1)*g
        }
        V vi = V::set1(beta2) * load_as<V>(v + i) + V::set1(omb2) * (gi * gi);  // v = beta2*v + (1-beta2)*(g*g)
        store_rounded(m + i, mi, stochastic, rnd[1] + j);
        store_rounded(v + i, vi, stochastic, rnd[2] + j);
        if constexpr (AMSGRAD) {
            vi = maximum(load_as<V>(vmax + i), vi);                          // v_max = maximum(v_max, v)
            store_rounded(vmax + i, vi, stochastic, rnd[3] + j);
        }
        if constexpr (TORCH) {
            const V denom = sqrt(vi) * V::set1(inv_bc2_sqrt) + V::set1(eps);  // sqrt(v) * inv_bc2_sqrt + eps
            wi = wi - (V::set1(step_size) * mi) / denom;                       // w = w - step_size * m / denom
        } else {
            // w = w - lr * (m / bc1) / (sqrt(v / bc2 + eps_root) + eps)
            wi = wi - (V::set1(lr) * (mi / V::set1(bc1))) / (sqrt(vi / V::set1(bc2) + V::set1(eps_root)) + V::set1(eps));
        }
        store_rounded(w + i, wi, stochastic, rnd[0] + j);
        if constexpr (std::is_same_v<P, float>) {
            if (copy) {  // the low-precision copy of a float32 master: nearest even
                if (copy_dtype == kBFloat16) store_nearest(static_cast<bf16*>(copy) + i, wi);
                else store_nearest(static_cast<f16*>(copy) + i, wi);
            }
        }
    };
    if (!stochastic) {
        for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) SIMDOPTIM_BODY { body(tag, i, 0); });
        return;
    }
    const std::uint64_t seed = s.common->seed, step = s.common->step;
    for (std::size_t b0 = begin; b0 < end;) {
        const std::size_t base = b0 / kRandomBatch * kRandomBatch, b1 = std::min(end, base + kRandomBatch);
        if constexpr (is_lowp<P>) fill_random(rnd[0], base, s.index, 0, step, seed);
        if constexpr (is_lowp<S>) {
            fill_random(rnd[1], base, s.index, 1, step, seed);
            fill_random(rnd[2], base, s.index, 2, step, seed);
            if constexpr (AMSGRAD) fill_random(rnd[3], base, s.index, 3, step, seed);
        }
        for_each_lane_block<T>(b0, b1, [&](auto tag, std::size_t i) SIMDOPTIM_BODY { body(tag, i, i - base); });
        b0 = b1;
    }
}

template <class P, class G, class S>
void adam_any(const AdamHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const int wd = h.weight_decay == 0.0 ? kNone : (h.decoupled ? kDecoupled : kL2);
    switch (wd * 4 + (h.amsgrad ? 2 : 0) + (h.pytorch_order ? 1 : 0)) {
        case kNone * 4 + 0: return adam_general<P, G, S, kNone, false, false>(h, s, begin, end);
        case kNone * 4 + 1: return adam_general<P, G, S, kNone, false, true>(h, s, begin, end);
        case kNone * 4 + 2: return adam_general<P, G, S, kNone, true, false>(h, s, begin, end);
        case kNone * 4 + 3: return adam_general<P, G, S, kNone, true, true>(h, s, begin, end);
        case kL2 * 4 + 0: return adam_general<P, G, S, kL2, false, false>(h, s, begin, end);
        case kL2 * 4 + 1: return adam_general<P, G, S, kL2, false, true>(h, s, begin, end);
        case kL2 * 4 + 2: return adam_general<P, G, S, kL2, true, false>(h, s, begin, end);
        case kL2 * 4 + 3: return adam_general<P, G, S, kL2, true, true>(h, s, begin, end);
        case kDecoupled * 4 + 0: return adam_general<P, G, S, kDecoupled, false, false>(h, s, begin, end);
        case kDecoupled * 4 + 1: return adam_general<P, G, S, kDecoupled, false, true>(h, s, begin, end);
        case kDecoupled * 4 + 2: return adam_general<P, G, S, kDecoupled, true, false>(h, s, begin, end);
        default: return adam_general<P, G, S, kDecoupled, true, true>(h, s, begin, end);
    }
}

// float32 / float64 throughout: the literal order without unscaling, clipping or a copy
// keeps its specialised kernel (adam above); everything else goes through adam_general.
template <class T>
void adam_same(const AdamHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const bool extras = h.pytorch_order || s.param_copy ||
                        (s.common && (s.common->unscale || s.common->clip_on));
    if (extras) return adam_any<T, T, T>(h, s, begin, end);
    adam<T>(h, s, begin, end);
}

#define SIMDOPTIM_ADAM(P, G, S, p, g, st) \
    update_kernel("adam", DTypes{P, G, S}, with_hyper<AdamHyper, adam_any<p, g, st>>)

constexpr KernelEntry kKernels[] = {
    update_kernel("adam", same_dtypes(kFloat32), with_hyper<AdamHyper, adam_same<float>>),
    update_kernel("adam", same_dtypes(kFloat64), with_hyper<AdamHyper, adam_same<double>>),
    // float32 parameters (or float32 masters): gradients and state each float32, bfloat16 or float16
    SIMDOPTIM_ADAM(kFloat32, kBFloat16, kFloat32, float, bf16, float),
    SIMDOPTIM_ADAM(kFloat32, kFloat16, kFloat32, float, f16, float),
    SIMDOPTIM_ADAM(kFloat32, kFloat32, kBFloat16, float, float, bf16),
    SIMDOPTIM_ADAM(kFloat32, kFloat32, kFloat16, float, float, f16),
    SIMDOPTIM_ADAM(kFloat32, kBFloat16, kBFloat16, float, bf16, bf16),
    SIMDOPTIM_ADAM(kFloat32, kFloat16, kFloat16, float, f16, f16),
    SIMDOPTIM_ADAM(kFloat32, kBFloat16, kFloat16, float, bf16, f16),
    SIMDOPTIM_ADAM(kFloat32, kFloat16, kBFloat16, float, f16, bf16),
    // low-precision parameters: gradients of their dtype, state float32 or their dtype
    SIMDOPTIM_ADAM(kBFloat16, kBFloat16, kFloat32, bf16, bf16, float),
    SIMDOPTIM_ADAM(kBFloat16, kBFloat16, kBFloat16, bf16, bf16, bf16),
    SIMDOPTIM_ADAM(kFloat16, kFloat16, kFloat32, f16, f16, float),
    SIMDOPTIM_ADAM(kFloat16, kFloat16, kFloat16, f16, f16, f16),
};
#undef SIMDOPTIM_ADAM

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
