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
//
// VecU32 / ScalarU32 are 32-bit integer vectors with the lanes of VecF32 / Scalar<float>,
// for the bit manipulations of the float16/bfloat16 conversions and the random bits of
// stochastic rounding (lowp.h); only exact integer operations.
#pragma once

// An update's per-vector body (a lambda) inlined into its loop: GCC otherwise keeps the bigger
// bodies (the low-precision ones, with their conversions and both rounding paths) out of
// line, a call per vector that reloads every captured hyper-parameter.
#if defined(__GNUC__) && !defined(SIMDOPTIM_SANITIZE)
#define SIMDOPTIM_BODY __attribute__((always_inline))
#else
#define SIMDOPTIM_BODY
#endif

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

// One 32-bit integer lane: the companion of Scalar<float> for the bit manipulations of the
// float16/bfloat16 conversions (lowp.h). Mask is the result of a comparison.
struct ScalarU32 {
    static constexpr std::size_t lanes = 1;
    using Mask = bool;
    std::uint32_t v;
    static ScalarU32 set1(std::uint32_t x) { return {x}; }
    static ScalarU32 load(const std::uint32_t* p) { return {*p}; }
    void store(std::uint32_t* p) const { *p = v; }
    static ScalarU32 load_u16(const std::uint16_t* p) { return {*p}; }
    void store_u16(std::uint16_t* p) const { *p = std::uint16_t(v); }
    friend ScalarU32 operator+(ScalarU32 a, ScalarU32 b) { return {a.v + b.v}; }
    friend ScalarU32 operator-(ScalarU32 a, ScalarU32 b) { return {a.v - b.v}; }
    friend ScalarU32 operator&(ScalarU32 a, ScalarU32 b) { return {a.v & b.v}; }
    friend ScalarU32 operator|(ScalarU32 a, ScalarU32 b) { return {a.v | b.v}; }
    friend ScalarU32 operator^(ScalarU32 a, ScalarU32 b) { return {a.v ^ b.v}; }
    template <int N> ScalarU32 shr() const { return {v >> N}; }
    template <int N> ScalarU32 shl() const { return {v << N}; }
    // a > b and a == b as signed 32-bit integers
    friend bool gt(ScalarU32 a, ScalarU32 b) { return std::int32_t(a.v) > std::int32_t(b.v); }
    friend bool eq(ScalarU32 a, ScalarU32 b) { return a.v == b.v; }
    friend ScalarU32 select(bool m, ScalarU32 a, ScalarU32 b) { return m ? a : b; }
    // (hi, lo) halves of the 64-bit products x * m, lane by lane (Philox)
    friend void mulhilo(ScalarU32 x, std::uint32_t m, ScalarU32& hi, ScalarU32& lo) {
        const std::uint64_t p = std::uint64_t(x.v) * m;
        hi.v = std::uint32_t(p >> 32);
        lo.v = std::uint32_t(p);
    }
    static ScalarU32 bits(Scalar<float> x) {
        ScalarU32 r;
        __builtin_memcpy(&r.v, &x.v, 4);
        return r;
    }
    Scalar<float> as_float() const {
        Scalar<float> r;
        __builtin_memcpy(&r.v, &v, 4);
        return r;
    }
    // truncation toward zero of a float in the int32 range
    // (out of range or NaN: 0x80000000, as the x86 instruction gives; never undefined here)
    static ScalarU32 trunc(Scalar<float> x) {
        return {x.v >= -2147483648.0f && x.v < 2147483648.0f ? std::uint32_t(std::int32_t(x.v)) : 0x80000000u};
    }
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

struct VecU32 {
    static constexpr std::size_t lanes = 16;
    using Mask = __mmask16;
    __m512i v;
    static VecU32 set1(std::uint32_t x) { return {_mm512_set1_epi32(int(x))}; }
    static VecU32 load(const std::uint32_t* p) { return {_mm512_loadu_si512(p)}; }
    void store(std::uint32_t* p) const { _mm512_storeu_si512(p, v); }
    static VecU32 load_u16(const std::uint16_t* p) { return {_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))}; }
    void store_u16(std::uint16_t* p) const { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(v)); }
    friend VecU32 operator+(VecU32 a, VecU32 b) { return {_mm512_add_epi32(a.v, b.v)}; }
    friend VecU32 operator-(VecU32 a, VecU32 b) { return {_mm512_sub_epi32(a.v, b.v)}; }
    friend VecU32 operator&(VecU32 a, VecU32 b) { return {_mm512_and_si512(a.v, b.v)}; }
    friend VecU32 operator|(VecU32 a, VecU32 b) { return {_mm512_or_si512(a.v, b.v)}; }
    friend VecU32 operator^(VecU32 a, VecU32 b) { return {_mm512_xor_si512(a.v, b.v)}; }
    template <int N> VecU32 shr() const { return {_mm512_srli_epi32(v, N)}; }
    template <int N> VecU32 shl() const { return {_mm512_slli_epi32(v, N)}; }
    friend Mask gt(VecU32 a, VecU32 b) { return _mm512_cmpgt_epi32_mask(a.v, b.v); }
    friend Mask eq(VecU32 a, VecU32 b) { return _mm512_cmpeq_epi32_mask(a.v, b.v); }
    friend VecU32 select(Mask m, VecU32 a, VecU32 b) { return {_mm512_mask_blend_epi32(m, b.v, a.v)}; }
    friend void mulhilo(VecU32 x, std::uint32_t m, VecU32& hi, VecU32& lo) {
        const __m512i mv = _mm512_set1_epi32(int(m));
        const __m512i even = _mm512_mul_epu32(x.v, mv), odd = _mm512_mul_epu32(_mm512_srli_epi64(x.v, 32), mv);
        lo.v = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
        hi.v = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    }
    static VecU32 bits(VecF32 x) { return {_mm512_castps_si512(x.v)}; }
    VecF32 as_float() const { return {_mm512_castsi512_ps(v)}; }
    static VecU32 trunc(VecF32 x) { return {_mm512_cvttps_epi32(x.v)}; }
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

struct VecU32 {
    static constexpr std::size_t lanes = 8;
    using Mask = VecU32;
    __m256i v;
    static VecU32 set1(std::uint32_t x) { return {_mm256_set1_epi32(int(x))}; }
    static VecU32 load(const std::uint32_t* p) { return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))}; }
    void store(std::uint32_t* p) const { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
    static VecU32 load_u16(const std::uint16_t* p) { return {_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))}; }
    void store_u16(std::uint16_t* p) const {
        // lanes hold values < 2^16, so unsigned saturation packs them unchanged
        const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
    }
    friend VecU32 operator+(VecU32 a, VecU32 b) { return {_mm256_add_epi32(a.v, b.v)}; }
    friend VecU32 operator-(VecU32 a, VecU32 b) { return {_mm256_sub_epi32(a.v, b.v)}; }
    friend VecU32 operator&(VecU32 a, VecU32 b) { return {_mm256_and_si256(a.v, b.v)}; }
    friend VecU32 operator|(VecU32 a, VecU32 b) { return {_mm256_or_si256(a.v, b.v)}; }
    friend VecU32 operator^(VecU32 a, VecU32 b) { return {_mm256_xor_si256(a.v, b.v)}; }
    template <int N> VecU32 shr() const { return {_mm256_srli_epi32(v, N)}; }
    template <int N> VecU32 shl() const { return {_mm256_slli_epi32(v, N)}; }
    friend Mask gt(VecU32 a, VecU32 b) { return {_mm256_cmpgt_epi32(a.v, b.v)}; }
    friend Mask eq(VecU32 a, VecU32 b) { return {_mm256_cmpeq_epi32(a.v, b.v)}; }
    friend VecU32 select(Mask m, VecU32 a, VecU32 b) { return {_mm256_blendv_epi8(b.v, a.v, m.v)}; }
    friend void mulhilo(VecU32 x, std::uint32_t m, VecU32& hi, VecU32& lo) {
        const __m256i mv = _mm256_set1_epi32(int(m));
        const __m256i even = _mm256_mul_epu32(x.v, mv), odd = _mm256_mul_epu32(_mm256_srli_epi64(x.v, 32), mv);
        lo.v = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
        hi.v = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    }
    static VecU32 bits(VecF32 x) { return {_mm256_castps_si256(x.v)}; }
    VecF32 as_float() const { return {_mm256_castsi256_ps(v)}; }
    static VecU32 trunc(VecF32 x) { return {_mm256_cvttps_epi32(x.v)}; }
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
// SSE2 only: no blendv, no packusdw, no pmovzx (test_portable.py checks the disassembly).
struct VecU32 {
    static constexpr std::size_t lanes = 4;
    using Mask = VecU32;
    __m128i v;
    static VecU32 set1(std::uint32_t x) { return {_mm_set1_epi32(int(x))}; }
    static VecU32 load(const std::uint32_t* p) { return {_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))}; }
    void store(std::uint32_t* p) const { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }
    static VecU32 load_u16(const std::uint16_t* p) {
        return {_mm_unpacklo_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), _mm_setzero_si128())};
    }
    void store_u16(std::uint16_t* p) const {
        // sign-extend the low 16 bits so that signed saturation packs them unchanged
        const __m128i s = _mm_srai_epi32(_mm_slli_epi32(v, 16), 16);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi32(s, s));
    }
    friend VecU32 operator+(VecU32 a, VecU32 b) { return {_mm_add_epi32(a.v, b.v)}; }
    friend VecU32 operator-(VecU32 a, VecU32 b) { return {_mm_sub_epi32(a.v, b.v)}; }
    friend VecU32 operator&(VecU32 a, VecU32 b) { return {_mm_and_si128(a.v, b.v)}; }
    friend VecU32 operator|(VecU32 a, VecU32 b) { return {_mm_or_si128(a.v, b.v)}; }
    friend VecU32 operator^(VecU32 a, VecU32 b) { return {_mm_xor_si128(a.v, b.v)}; }
    template <int N> VecU32 shr() const { return {_mm_srli_epi32(v, N)}; }
    template <int N> VecU32 shl() const { return {_mm_slli_epi32(v, N)}; }
    friend Mask gt(VecU32 a, VecU32 b) { return {_mm_cmpgt_epi32(a.v, b.v)}; }
    friend Mask eq(VecU32 a, VecU32 b) { return {_mm_cmpeq_epi32(a.v, b.v)}; }
    friend VecU32 select(Mask m, VecU32 a, VecU32 b) { return {_mm_or_si128(_mm_and_si128(m.v, a.v), _mm_andnot_si128(m.v, b.v))}; }
    friend void mulhilo(VecU32 x, std::uint32_t m, VecU32& hi, VecU32& lo) {
        const __m128i mv = _mm_set1_epi32(int(m));
        const __m128i even = _mm_mul_epu32(x.v, mv), odd = _mm_mul_epu32(_mm_srli_epi64(x.v, 32), mv);
        const __m128i low32 = _mm_set1_epi64x(0xFFFFFFFFll);
        lo.v = _mm_or_si128(_mm_and_si128(even, low32), _mm_slli_epi64(odd, 32));
        hi.v = _mm_or_si128(_mm_srli_epi64(even, 32), _mm_andnot_si128(low32, odd));
    }
    static VecU32 bits(VecF32 x) { return {_mm_castps_si128(x.v)}; }
    VecF32 as_float() const { return {_mm_castsi128_ps(v)}; }
    static VecU32 trunc(VecF32 x) { return {_mm_cvttps_epi32(x.v)}; }
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

// The 32-bit integer vector with the lanes of a float vector type (lowp.h).
template <class V> struct U32Of;
template <> struct U32Of<Scalar<float>> { using type = ScalarU32; };
#if defined(SIMDOPTIM_X86)
template <> struct U32Of<VecF32> { using type = VecU32; };
#endif

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
