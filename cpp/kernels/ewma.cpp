// ewma.cpp - the whole-series exponentially weighted average along one axis of an
// (outer, length, inner) array: v_0 = 0, v_t = beta * v_{t-1} + (1 - beta) * x_t,
// out_t = v_t / (1 - beta^t) or v_t. With inner > 1 the independent series are adjacent in
// memory and a block of them is carried in registers down the time axis; with inner == 1
// each series is a row and runs as a scalar recurrence (independent rows go to different
// threads). Mirrors reference.ewma.
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

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

constexpr KernelEntry kKernels[] = {
    ewma_kernel("ewma", kFloat32, ewma_scan<float>),
    ewma_kernel("ewma", kFloat64, ewma_scan<double>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
