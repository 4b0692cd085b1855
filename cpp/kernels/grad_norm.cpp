// grad_norm.cpp - the read pass before a clipped step (SPEC section 12): the sum of squares of
// the unscaled gradients, g := g / grad_scale in the compute type, each square taken in
// float64 (exact for float32 values) and summed in float64 in an order fixed by the element
// index alone: within a block of kNormBlock elements, element e adds into partial sum
// p[e mod 8] in increasing e, and the block's sum is ((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)).
// The 8 partial sums are the lanes of one AVX-512 double vector, two AVX2 vectors or four
// SSE2 vectors, so every path (and the one-lane tail) adds the same numbers in the same
// order. Mirrors reference.grad_norm, which also combines the blocks; a non-finite gradient
// makes the sum non-finite, so this pass is also the finiteness check after unscaling.
#include "lowp.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

// half `h` of a float vector's lanes as doubles
#if defined(SIMDOPTIM_X86)
#if defined(SIMDOPTIM_TARGET_AVX512)
inline VecF64 widen(VecF32 x, int h) {
    const __m256 half = h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x.v), 1)) : _mm512_castps512_ps256(x.v);
    return {_mm512_cvtps_pd(half)};
}
#elif defined(SIMDOPTIM_TARGET_AVX2)
inline VecF64 widen(VecF32 x, int h) {
    return {_mm256_cvtps_pd(h ? _mm256_extractf128_ps(x.v, 1) : _mm256_castps256_ps128(x.v))};
}
#else
inline VecF64 widen(VecF32 x, int h) { return {_mm_cvtps_pd(h ? _mm_movehl_ps(x.v, x.v) : x.v)}; }
#endif
inline VecF64 widen(VecF64 x, int) { return x; }
#endif
inline Scalar<double> widen(Scalar<float> x, int) { return {double(x.v)}; }
inline Scalar<double> widen(Scalar<double> x, int) { return x; }

template <class G>
double sumsq(const void* grad, std::size_t begin, std::size_t end, const StepCommon* c) {
    using T = compute_t<G>;
    using V = Vec<T>;
    using D = decltype(widen(V{}, 0));
    constexpr std::size_t L = V::lanes, DL = D::lanes;
    constexpr std::size_t A = 8 / DL;                  // accumulators: 8 partial sums in vectors of DL
    constexpr std::size_t STEP = L >= 8 ? L : 8;       // elements per round of the loop
    static_assert(8 % DL == 0 && (STEP % L) == 0 && L % DL == 0, "norm: lane layout");
    const G* g = static_cast<const G*>(grad);
    const GradPrologue<T> unscale(c, false);  // the norm is taken before clipping
    D acc[A];
    for (std::size_t a = 0; a < A; ++a) acc[a] = D::set1(0.0);
    std::size_t i = begin;
    for (; i + STEP <= end; i += STEP) {
        for (std::size_t k = 0; k < STEP / L; ++k) {
            const V x = unscale(load_as<V>(g + i + k * L));
            for (std::size_t h = 0; h < L / DL; ++h) {
                const D d = widen(x, int(h));
                const std::size_t slot = ((k * L + h * DL) % 8) / DL;
                acc[slot] = acc[slot] + d * d;  // p[e mod 8] += g_e^2
            }
        }
    }
    alignas(64) double p[8];
    for (std::size_t a = 0; a < A; ++a) acc[a].store(p + a * DL);
    for (; i < end; ++i) {
        const double d = widen(unscale(load_as<Scalar<T>>(g + i)), 0).v;
        p[i % 8] += d * d;
    }
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

template <class G>
bool all_finite_lowp(const void* data, std::size_t begin, std::size_t end) {
    const G* p = static_cast<const G*>(data);
    bool ok = true;
    for_each_lane_block<float>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        ok &= all_finite(load_as<V>(p + i));
    });
    return ok;
}

constexpr KernelEntry kKernels[] = {
    sumsq_kernel("grad_sumsq", kFloat32, sumsq<float>),
    sumsq_kernel("grad_sumsq", kFloat64, sumsq<double>),
    sumsq_kernel("grad_sumsq", kBFloat16, sumsq<bf16>),
    sumsq_kernel("grad_sumsq", kFloat16, sumsq<f16>),
    finite_kernel("all_finite", kBFloat16, all_finite_lowp<bf16>),
    finite_kernel("all_finite", kFloat16, all_finite_lowp<f16>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
