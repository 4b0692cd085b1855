// ewma.cpp - the whole-series exponentially weighted average along one axis of an
// (outer, length, inner) array: v_0 = 0, v_t = beta * v_{t-1} + (1 - beta) * x_t,
// out_t = v_t / (1 - beta^t) or v_t. With inner > 1 the independent series are adjacent in
// memory and a block of them is carried in registers down the time axis. With inner == 1
// each series is a row: groups of kRows rows are transposed, kSteps time steps at a time,
// into a small time-major tile so that the same vector code runs across the series (the
// recurrence itself is sequential in time); a single series, or the rows left over, run as
// a scalar recurrence. Independent rows go to different threads. Mirrors reference.ewma:
// every lane does the scalar expression's operations in its order, so any grouping gives
// the same bits.
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
        constexpr std::size_t kRows = 16, kSteps = 64;
        std::size_t o = item_begin;
        // groups of kRows series, vectorised across the series through a transposed tile
        for (; o + kRows <= item_end; o += kRows) {
            alignas(64) T v[kRows] = {};
            alignas(64) T tile[kSteps][kRows];
            for (std::size_t t0 = 0; t0 < L; t0 += kSteps) {
                const std::size_t steps = L - t0 < kSteps ? L - t0 : kSteps;
                for (std::size_t r = 0; r < kRows; ++r) {
                    const T* xr = x + (o + r) * L + t0;
                    for (std::size_t t = 0; t < steps; ++t) tile[t][r] = xr[t];
                }
                for (std::size_t t = 0; t < steps; ++t) {
                    const std::size_t tt = t0 + t;
                    const T bc = a.bias_correction && tt < a.corrected ? T(a.bias_correction[tt]) : T(1);
                    const bool correct = bc != T(1);  // dividing by exactly 1 changes no bit
                    for_each_lane_block<T>(0, kRows, [&](auto tag, std::size_t j) {
                        using V = decltype(tag);
                        V vj = V::set1(beta) * V::load(v + j) + V::set1(omb) * V::load(tile[t] + j);
                        vj.store(v + j);
                        if (correct) vj = vj / V::set1(bc);
                        vj.store(tile[t] + j);
                    });
                }
                for (std::size_t r = 0; r < kRows; ++r) {
                    T* outr = out + (o + r) * L + t0;
                    for (std::size_t t = 0; t < steps; ++t) outr[t] = tile[t][r];
                }
            }
        }
        // the rows left over: a scalar recurrence down each row
        for (; o < item_end; ++o) {
            const T* xr = x + o * L;
            T* outr = out + o * L;
            T v = T(0);
            for (std::size_t t = 0; t < L; ++t) {
                v = beta * v + omb * xr[t];  // v = beta*v + (1-beta)*x_t
                outr[t] = a.bias_correction && t < a.corrected ? v / T(a.bias_correction[t]) : v;
            }
        }
        return;
    }
    // a block of adjacent series walks down the time axis with its averages in v (L1): each
    // time step reads and writes one contiguous piece of a row, as a stream
    const std::size_t B = a.block < kEWMABlock ? a.block : kEWMABlock;
    const std::size_t blocks = (inner + B - 1) / B;
    for (std::size_t item = item_begin; item < item_end; ++item) {
        const std::size_t o = item / blocks, j0 = (item % blocks) * B;
        const std::size_t width = (inner - j0) < B ? (inner - j0) : B;
        alignas(64) T v[kEWMABlock];
        for (std::size_t j = 0; j < width; ++j) v[j] = T(0);
        for (std::size_t t = 0; t < L; ++t) {
            const T* xr = x + (o * L + t) * inner + j0;
            T* outr = out + (o * L + t) * inner + j0;
            const T bc = a.bias_correction && t < a.corrected ? T(a.bias_correction[t]) : T(1);
            const bool correct = bc != T(1);  // dividing by exactly 1 changes no bit
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
