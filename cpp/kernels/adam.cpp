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
#include "adam.h"
#include "simd.h"

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

constexpr KernelEntry kKernels[] = {
    update_kernel("adam", same_dtypes(kFloat32), with_hyper<AdamHyper, adam<float>>),
    update_kernel("adam", same_dtypes(kFloat64), with_hyper<AdamHyper, adam<double>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
