// ema.cpp - exponentially weighted averages.
//
// ema: one streaming update of a running average kept beside training (weights or any
// array): v := beta * v + (1 - beta) * x, and optionally, in the same pass,
// out := v / (1 - beta^t) (bias correction) or out := v. Mirrors reference.ema_update.
//
// ewma_scan: the whole-series average along one axis of an (outer, length, inner) array,
// v_0 = 0, v_t = beta * v_{t-1} + (1 - beta) * x_t, out_t = v_t / (1 - beta^t) or v_t.
// With inner > 1 the independent series are adjacent in memory and a block of them is
// carried in registers down the time axis; with inner == 1 each series is a row and runs
// as a scalar recurrence (independent rows go to different threads). Mirrors reference.ewma.
#include "kernels.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T, bool OUT, bool CORRECT>
void ema_range(const EMAHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    T* __restrict avg = static_cast<T*>(s.param);
    const T* __restrict x = static_cast<const T*>(s.grad);
    T* __restrict out = static_cast<T*>(s.state[0]);
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
    if (!h.write_output) return ema_range<T, false, false>(h, s, begin, end);
    if (h.bias_correction != 0.0) return ema_range<T, true, true>(h, s, begin, end);
    ema_range<T, true, false>(h, s, begin, end);
}

template <class T>
void ewma_scan(const EWMAScan& a, std::size_t item_begin, std::size_t item_end) {
    const T* __restrict x = static_cast<const T*>(a.x);
    T* __restrict out = static_cast<T*>(a.out);
    const T beta = T(a.beta), omb = T(a.one_minus_beta);
    const std::size_t L = a.length, inner = a.inner;
    if (inner == 1) {
        // one series per row: a scalar recurrence down the row
        for (std::size_t o = item_begin; o < item_end; ++o) {
            const T* xr = x + o * L;
            T* outr = out + o * L;
            T v = T(0);
            for (std::size_t t = 0; t < L; ++t) {
                v = beta * v + omb * xr[t];  // v = beta*v + (1-beta)*x_t
                outr[t] = a.bias_correction ? v / T(a.bias_correction[t]) : v;
            }
        }
        return;
    }
    const std::size_t blocks = (inner + kEWMABlock - 1) / kEWMABlock;
    for (std::size_t item = item_begin; item < item_end; ++item) {
        const std::size_t o = item / blocks, j0 = (item % blocks) * kEWMABlock;
        const std::size_t width = (inner - j0) < kEWMABlock ? (inner - j0) : kEWMABlock;
        alignas(64) T v[kEWMABlock] = {};
        for (std::size_t t = 0; t < L; ++t) {
            const T* xr = x + (o * L + t) * inner + j0;
            T* outr = out + (o * L + t) * inner + j0;
            const T bc = a.bias_correction ? T(a.bias_correction[t]) : T(1);
            const bool correct = a.bias_correction != nullptr;
            for_each_lane_block<T>(0, width, [&](auto tag, std::size_t j) {
                using V = decltype(tag);
                V vj = V::set1(beta) * V::load(v + j) + V::set1(omb) * V::load(xr + j);  // v = beta*v + (1-beta)*x_t
                vj.store(v + j);
                if (correct) vj = vj / V::set1(bc);  // v_t / (1 - beta^t)
                vj.store(outr + j);
            });
        }
    }
}

template <class T>
bool all_finite(const void* data, std::size_t begin, std::size_t end) {
    const T* p = static_cast<const T*>(data);
    bool ok = true;
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        ok &= all_finite(V::load(p + i));
    });
    return ok;
}

}  // namespace

void ema_f32(const EMAHyper& h, const Slot& s, std::size_t b, std::size_t e) { ema<float>(h, s, b, e); }
void ema_f64(const EMAHyper& h, const Slot& s, std::size_t b, std::size_t e) { ema<double>(h, s, b, e); }
void ewma_scan_f32(const EWMAScan& a, std::size_t b, std::size_t e) { ewma_scan<float>(a, b, e); }
void ewma_scan_f64(const EWMAScan& a, std::size_t b, std::size_t e) { ewma_scan<double>(a, b, e); }
bool all_finite_f32(const void* p, std::size_t b, std::size_t e) { return all_finite<float>(p, b, e); }
bool all_finite_f64(const void* p, std::size_t b, std::size_t e) { return all_finite<double>(p, b, e); }

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
