// simd.h - the vector types every kernel is written against.
//
// Each kernel source is compiled once per ISA (see CMakeLists.txt). The build defines
// SIMDOPTIM_TARGET (baseline, avx2, avx512) and everything here lives in the namespace of
// that name, so two objects built with different -m flags never share an inline function
// or template instance: the linker cannot pick an AVX-512 copy for the baseline path.
//
// Only the operations the optimizer updates need are provided, each a single IEEE-754
// correctly rounded instruction (add, sub, mul, div, sqrt) so that a vector lane gives
// exactly what NumPy gives for the same element. Fused multiply-add is deliberately absent
// and the build passes -ffp-contract=off so the compiler cannot fuse either.
//
// Scalar<T> is the one-lane type. Kernels run their tail through it: the same expression
// template on one element, so the result never depends on where a vector or thread
// boundary falls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels.h"

#if !defined(SIMDOPTIM_TARGET)
#error "SIMDOPTIM_TARGET must be defined by the build (baseline, avx2, avx512)"
#endif

// SIMDOPTIM_PORTABLE builds the path other architectures get (plain loops the compiler
// may auto-vectorise) on x86 too, so that it can be tested here.
#if (defined(__x86_64__) || defined(_M_X64) || defined(__i386__)) && !defined(SIMDOPTIM_PORTABLE)
#include <immintrin.h>
#define SIMDOPTIM_X86 1
#endif

namespace simdoptim {
namespace SIMDOPTIM_TARGET {

// ---------------------------------------------------------------------------------------
// One lane. Also the whole vector type on targets without an intrinsic path.
template <class T>
struct Scalar {
    using value_type = T;
    static constexpr std::size_t lanes = 1;
    T v;
    static Scalar load(const T* p) { return {*p}; }
    static Scalar set1(T x) { return {x}; }
    void store(T* p) const { *p = v; }
    friend Scalar operator+(Scalar a, Scalar b) { return {a.v + b.v}; }
    friend Scalar operator-(Scalar a, Scalar b) { return {a.v - b.v}; }
    friend Scalar operator*(Scalar a, Scalar b) { return {a.v * b.v}; }
    friend Scalar operator/(Scalar a, Scalar b) { return {a.v / b.v}; }
    friend Scalar sqrt(Scalar a) { return {sqrt_one(a.v)}; }
    // np.maximum: NaN in either operand propagates; otherwise the larger.
    friend Scalar maximum(Scalar a, Scalar b) { return {(a.v >= b.v || a.v != a.v) ? a.v : b.v}; }
    // true when every lane is finite
    friend bool all_finite(Scalar a) { return (a.v - a.v) == (a.v - a.v); }

   private:
    static float sqrt_one(float x) { return __builtin_sqrtf(x); }
    static double sqrt_one(double x) { return __builtin_sqrt(x); }
};

#if defined(SIMDOPTIM_X86)

// ---------------------------------------------------------------------------------------
#if defined(SIMDOPTIM_TARGET_AVX512)
struct VecF32 {
    using value_type = float;
    static constexpr std::size_t lanes = 16;
    __m512 v;
    static VecF32 load(const float* p) { return {_mm512_loadu_ps(p)}; }
    static VecF32 set1(float x) { return {_mm512_set1_ps(x)}; }
    void store(float* p) const { _mm512_storeu_ps(p, v); }
    friend VecF32 operator+(VecF32 a, VecF32 b) { return {_mm512_add_ps(a.v, b.v)}; }
    friend VecF32 operator-(VecF32 a, VecF32 b) { return {_mm512_sub_ps(a.v, b.v)}; }
    friend VecF32 operator*(VecF32 a, VecF32 b) { return {_mm512_mul_ps(a.v, b.v)}; }
    friend VecF32 operator/(VecF32 a, VecF32 b) { return {_mm512_div_ps(a.v, b.v)}; }
    friend VecF32 sqrt(VecF32 a) { return {_mm512_sqrt_ps(a.v)}; }
    friend VecF32 maximum(VecF32 a, VecF32 b) {
        // keep a where a >= b or a is NaN (NumPy's rule), else b
        __mmask16 keep = _mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ) | _mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q);
        return {_mm512_mask_blend_ps(keep, b.v, a.v)};
    }
    friend bool all_finite(VecF32 a) {
        __m512 d = _mm512_sub_ps(a.v, a.v);  // 0 for finite lanes, NaN otherwise
        return _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q) == 0;
    }
};
struct VecF64 {
    using value_type = double;
    static constexpr std::size_t lanes = 8;
    __m512d v;
    static VecF64 load(const double* p) { return {_mm512_loadu_pd(p)}; }
    static VecF64 set1(double x) { return {_mm512_set1_pd(x)}; }
    void store(double* p) const { _mm512_storeu_pd(p, v); }
    friend VecF64 operator+(VecF64 a, VecF64 b) { return {_mm512_add_pd(a.v, b.v)}; }
    friend VecF64 operator-(VecF64 a, VecF64 b) { return {_mm512_sub_pd(a.v, b.v)}; }
    friend VecF64 operator*(VecF64 a, VecF64 b) { return {_mm512_mul_pd(a.v, b.v)}; }
    friend VecF64 operator/(VecF64 a, VecF64 b) { return {_mm512_div_pd(a.v, b.v)}; }
    friend VecF64 sqrt(VecF64 a) { return {_mm512_sqrt_pd(a.v)}; }
    friend VecF64 maximum(VecF64 a, VecF64 b) {
        __mmask8 keep = _mm512_cmp_pd_mask(a.v, b.v, _CMP_GE_OQ) | _mm512_cmp_pd_mask(a.v, a.v, _CMP_UNORD_Q);
        return {_mm512_mask_blend_pd(keep, b.v, a.v)};
    }
    friend bool all_finite(VecF64 a) {
        __m512d d = _mm512_sub_pd(a.v, a.v);
        return _mm512_cmp_pd_mask(d, d, _CMP_UNORD_Q) == 0;
    }
};

// ---------------------------------------------------------------------------------------
#elif defined(SIMDOPTIM_TARGET_AVX2)
struct VecF32 {
    using value_type = float;
    static constexpr std::size_t lanes = 8;
    __m256 v;
    static VecF32 load(const float* p) { return {_mm256_loadu_ps(p)}; }
    static VecF32 set1(float x) { return {_mm256_set1_ps(x)}; }
    void store(float* p) const { _mm256_storeu_ps(p, v); }
    friend VecF32 operator+(VecF32 a, VecF32 b) { return {_mm256_add_ps(a.v, b.v)}; }
    friend VecF32 operator-(VecF32 a, VecF32 b) { return {_mm256_sub_ps(a.v, b.v)}; }
    friend VecF32 operator*(VecF32 a, VecF32 b) { return {_mm256_mul_ps(a.v, b.v)}; }
    friend VecF32 operator/(VecF32 a, VecF32 b) { return {_mm256_div_ps(a.v, b.v)}; }
    friend VecF32 sqrt(VecF32 a) { return {_mm256_sqrt_ps(a.v)}; }
    friend VecF32 maximum(VecF32 a, VecF32 b) {
        __m256 keep = _mm256_or_ps(_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ), _mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q));
        return {_mm256_blendv_ps(b.v, a.v, keep)};
    }
    friend bool all_finite(VecF32 a) {
        __m256 d = _mm256_sub_ps(a.v, a.v);
        return _mm256_movemask_ps(_mm256_cmp_ps(d, d, _CMP_UNORD_Q)) == 0;
    }
};
struct VecF64 {
    using value_type = double;
    static constexpr std::size_t lanes = 4;
    __m256d v;
    static VecF64 load(const double* p) { return {_mm256_loadu_pd(p)}; }
    static VecF64 set1(double x) { return {_mm256_set1_pd(x)}; }
    void store(double* p) const { _mm256_storeu_pd(p, v); }
    friend VecF64 operator+(VecF64 a, VecF64 b) { return {_mm256_add_pd(a.v, b.v)}; }
    friend VecF64 operator-(VecF64 a, VecF64 b) { return {_mm256_sub_pd(a.v, b.v)}; }
    friend VecF64 operator*(VecF64 a, VecF64 b) { return {_mm256_mul_pd(a.v, b.v)}; }
    friend VecF64 operator/(VecF64 a, VecF64 b) { return {_mm256_div_pd(a.v, b.v)}; }
    friend VecF64 sqrt(VecF64 a) { return {_mm256_sqrt_pd(a.v)}; }
    friend VecF64 maximum(VecF64 a, VecF64 b) {
        __m256d keep = _mm256_or_pd(_mm256_cmp_pd(a.v, b.v, _CMP_GE_OQ), _mm256_cmp_pd(a.v, a.v, _CMP_UNORD_Q));
        return {_mm256_blendv_pd(b.v, a.v, keep)};
    }
    friend bool all_finite(VecF64 a) {
        __m256d d = _mm256_sub_pd(a.v, a.v);
        return _mm256_movemask_pd(_mm256_cmp_pd(d, d, _CMP_UNORD_Q)) == 0;
    }
};

// ---------------------------------------------------------------------------------------
#else  // baseline x86-64: SSE2 is part of the x86-64 baseline
struct VecF32 {
    using value_type = float;
    static constexpr std::size_t lanes = 4;
    __m128 v;
    static VecF32 load(const float* p) { return {_mm_loadu_ps(p)}; }
    static VecF32 set1(float x) { return {_mm_set1_ps(x)}; }
    void store(float* p) const { _mm_storeu_ps(p, v); }
    friend VecF32 operator+(VecF32 a, VecF32 b) { return {_mm_add_ps(a.v, b.v)}; }
    friend VecF32 operator-(VecF32 a, VecF32 b) { return {_mm_sub_ps(a.v, b.v)}; }
    friend VecF32 operator*(VecF32 a, VecF32 b) { return {_mm_mul_ps(a.v, b.v)}; }
    friend VecF32 operator/(VecF32 a, VecF32 b) { return {_mm_div_ps(a.v, b.v)}; }
    friend VecF32 sqrt(VecF32 a) { return {_mm_sqrt_ps(a.v)}; }
    friend VecF32 maximum(VecF32 a, VecF32 b) {
        __m128 keep = _mm_or_ps(_mm_cmpge_ps(a.v, b.v), _mm_cmpunord_ps(a.v, a.v));
        return {_mm_or_ps(_mm_and_ps(keep, a.v), _mm_andnot_ps(keep, b.v))};  // no blendv in SSE2
    }
    friend bool all_finite(VecF32 a) {
        __m128 d = _mm_sub_ps(a.v, a.v);
        return _mm_movemask_ps(_mm_cmpunord_ps(d, d)) == 0;
    }
};
struct VecF64 {
    using value_type = double;
    static constexpr std::size_t lanes = 2;
    __m128d v;
    static VecF64 load(const double* p) { return {_mm_loadu_pd(p)}; }
    static VecF64 set1(double x) { return {_mm_set1_pd(x)}; }
    void store(double* p) const { _mm_storeu_pd(p, v); }
    friend VecF64 operator+(VecF64 a, VecF64 b) { return {_mm_add_pd(a.v, b.v)}; }
    friend VecF64 operator-(VecF64 a, VecF64 b) { return {_mm_sub_pd(a.v, b.v)}; }
    friend VecF64 operator*(VecF64 a, VecF64 b) { return {_mm_mul_pd(a.v, b.v)}; }
    friend VecF64 operator/(VecF64 a, VecF64 b) { return {_mm_div_pd(a.v, b.v)}; }
    friend VecF64 sqrt(VecF64 a) { return {_mm_sqrt_pd(a.v)}; }
    friend VecF64 maximum(VecF64 a, VecF64 b) {
        __m128d keep = _mm_or_pd(_mm_cmpge_pd(a.v, b.v), _mm_cmpunord_pd(a.v, a.v));
        return {_mm_or_pd(_mm_and_pd(keep, a.v), _mm_andnot_pd(keep, b.v))};
    }
    friend bool all_finite(VecF64 a) {
        __m128d d = _mm_sub_pd(a.v, a.v);
        return _mm_movemask_pd(_mm_cmpunord_pd(d, d)) == 0;
    }
};
#endif

template <class T> struct VecOf;
template <> struct VecOf<float> { using type = VecF32; };
template <> struct VecOf<double> { using type = VecF64; };

#else  // not x86: one portable path, the compiler may still auto-vectorise the loops

template <class T> struct VecOf { using type = Scalar<T>; };

#endif

template <class T>
using Vec = typename VecOf<T>::type;

// Runs body(V, i) over [begin, end): full vectors first, then the tail one element at a
// time through Scalar<T>, i.e. through the same expression.
template <class T, class Body>
inline void for_each_lane_block(std::size_t begin, std::size_t end, Body&& body) {
    using V = Vec<T>;
    std::size_t i = begin;
    if (end - begin >= V::lanes) {
        const std::size_t last = end - V::lanes;
        for (; i <= last; i += V::lanes) body(V{}, i);
    }
    for (; i < end; ++i) body(Scalar<T>{}, i);
}

// The registered form (kernels.h, UpdateFn) of an update kernel written as
// kernel(const Hyper&, const Slot&, begin, end): the hyper-parameters come from the slot.
template <class H, void (*F)(const H&, const Slot&, std::size_t, std::size_t)>
void with_hyper(const Slot& s, std::size_t begin, std::size_t end) {
    F(*static_cast<const H*>(s.hyper), s, begin, end);
}

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
