// lowp.h - float16 / bfloat16 storage for the update kernels (SPEC section 11).
//
// Low-precision data is computed in float32: a load converts exactly, a store rounds once.
// Every conversion here is integer arithmetic on the bit patterns (plus, for float16, one
// exact float operation), written once against the vector types of simd.h, so each path
// (and the one-lane tail through Scalar<float>) gives the same bits; they are the bits of
// simdoptim.reference.round_to (tests/test_lowp.py compares them over every exponent and
// every rounding boundary). Where the CPU has F16C (the avx2 and avx512 objects are compiled
// with -mf16c) float16 loads and round-to-nearest stores use it: IEEE round-to-nearest-even,
// the same bits as the integer path except for NaN payloads, which every store replaces by
// the canonical NaN anyway. The AVX512_BF16 conversion instructions are not used (the build
// machine cannot run them); the integer bfloat16 conversion costs a few operations per
// vector, which memory bandwidth hides.
//
// Rounding of a float32 x (bit pattern b):
//   nearest     bfloat16: (b + 0x7FFF + ((b >> 16) & 1)) >> 16; float16: IEEE nearest even,
//               subnormals included, overflow to infinity.
//   stochastic  r a uniform 16-bit integer: the magnitude is truncated toward zero after
//               adding r / 2^16 units of the target's last place: bfloat16 (b + r) >> 16;
//               float16 normal results ((b & 0x7FFFFFFF) + (r >> 3)) with the 13 low bits
//               dropped; float16 subnormal results (floor(|x| * 2^40) + r) >> 16.
//   NaN becomes the canonical quiet NaN with x's sign (0x7FC0 / 0x7E00), infinities stay.
// The random bits come from Philox4x32-10 (Salmon et al., SC 2011) keyed as documented in
// fill_random below and in reference.random_bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "simd.h"

// The loads, stores and conversions below run once per vector of an update: always inlined,
// as the bodies that call them (SIMDOPTIM_BODY, simd.h: GCC otherwise keeps store_rounded,
// with both rounding paths, out of line in the bigger kernels, a call per vector that cost
// more than the store).
#define SIMDOPTIM_LANE inline SIMDOPTIM_BODY

namespace simdoptim {
namespace SIMDOPTIM_TARGET {

// Storage-only element types: the kernels never compute in them.
struct bf16 {
    std::uint16_t bits;
};
struct f16 {
    std::uint16_t bits;
};

// The type a kernel computes in for an element type.
template <class E> struct ComputeOf { using type = E; };
template <> struct ComputeOf<bf16> { using type = float; };
template <> struct ComputeOf<f16> { using type = float; };
template <class E> using compute_t = typename ComputeOf<E>::type;

template <class E> constexpr bool is_lowp = false;
template <> constexpr bool is_lowp<bf16> = true;
template <> constexpr bool is_lowp<f16> = true;

// ---------------------------------------------------------------------------------------
// Loads: exact.

template <class V>
SIMDOPTIM_LANE V load_as(const typename V::value_type* p) {
    return V::load(p);
}

template <class V>
SIMDOPTIM_LANE V load_as(const bf16* p) {
    using U = typename U32Of<V>::type;
    return U::load_u16(reinterpret_cast<const std::uint16_t*>(p)).template shl<16>().as_float();
}

// float16 -> float32 with integers: shift the exponent and mantissa into place and rebias;
// infinities and NaNs get the all-ones exponent; zero and subnormals are rebuilt exactly by
// one float subtraction (2^-14 * (1 + m/1024) - 2^-14).
template <class V>
SIMDOPTIM_LANE V f16_to_f32_int(typename U32Of<V>::type h) {
    using U = typename U32Of<V>::type;
    const U em = (h & U::set1(0x7FFF)).template shl<13>();
    const U exp = em & U::set1(0x0F800000);
    U o = em + U::set1(112u << 23);                                  // rebias 15 -> 127
    o = select(eq(exp, U::set1(0x0F800000)), o + U::set1(112u << 23), o);  // inf / NaN
    const V sub = (o + U::set1(1u << 23)).as_float() - U::set1(113u << 23).as_float();
    o = select(eq(exp, U::set1(0)), U::bits(sub), o);               // zero / subnormal
    return (o | (h & U::set1(0x8000)).template shl<16>()).as_float();
}

template <class V>
SIMDOPTIM_LANE V load_as(const f16* p) {
    using U = typename U32Of<V>::type;
    return f16_to_f32_int<V>(U::load_u16(reinterpret_cast<const std::uint16_t*>(p)));
}

#if defined(SIMDOPTIM_X86) && defined(__F16C__)
#if defined(SIMDOPTIM_TARGET_AVX512)
template <>
SIMDOPTIM_LANE VecF32 load_as<VecF32>(const f16* p) {
    return {_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))};
}
#elif defined(SIMDOPTIM_TARGET_AVX2)
template <>
SIMDOPTIM_LANE VecF32 load_as<VecF32>(const f16* p) {
    return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))};
}
#endif
#endif

// ---------------------------------------------------------------------------------------
// Rounding a float32 vector to 16-bit patterns (one per 32-bit lane).

template <class V>
SIMDOPTIM_LANE typename U32Of<V>::type bf16_nearest(V x) {
    using U = typename U32Of<V>::type;
    const U b = U::bits(x), a = b & U::set1(0x7FFFFFFF);
    const U y = (b + U::set1(0x7FFF) + (b.template shr<16>() & U::set1(1))).template shr<16>();
    const U nan = (b.template shr<16>() & U::set1(0x8000)) | U::set1(0x7FC0);
    return select(gt(a, U::set1(0x7F800000)), nan, y);
}

template <class V>
SIMDOPTIM_LANE typename U32Of<V>::type bf16_stochastic(V x, typename U32Of<V>::type r) {
    using U = typename U32Of<V>::type;
    const U b = U::bits(x), a = b & U::set1(0x7FFFFFFF), hi = b.template shr<16>();
    const U y = (b + r).template shr<16>();
    const U nan = (hi & U::set1(0x8000)) | U::set1(0x7FC0);
    return select(gt(a, U::set1(0x7F800000)), nan, select(eq(a, U::set1(0x7F800000)), hi, y));
}

// IEEE float32 -> float16, round to nearest even, with integers and one float addition for
// the subnormal range (|x| + 0.5 rounds |x| to a multiple of 2^-24 in float32 arithmetic).
template <class V>
SIMDOPTIM_LANE typename U32Of<V>::type f16_nearest_int(V x) {
    using U = typename U32Of<V>::type;
    const U b = U::bits(x), a = b & U::set1(0x7FFFFFFF);
    const U sign = b.template shr<16>() & U::set1(0x8000);
    const U big = select(gt(a, U::set1(0x7F800000)), U::set1(0x7E00), U::set1(0x7C00));  // NaN, or >= 2^16: inf
    const U sub = U::bits(a.as_float() + V::set1(0.5f)) - U::set1(0x3F000000);
    const U odd = a.template shr<13>() & U::set1(1);
    const U norm = (a + U::set1(0xC8000FFFu) + odd).template shr<13>();  // rebias 127 -> 15, round
    U o = select(gt(U::set1(0x38800000), a), sub, norm);                 // below 2^-14: subnormal
    o = select(gt(a, U::set1(0x477FFFFF)), big, o);
    return o | sign;
}

template <class V>
SIMDOPTIM_LANE typename U32Of<V>::type f16_nearest(V x) {
    return f16_nearest_int(x);
}

#if defined(SIMDOPTIM_X86) && defined(__F16C__)
// F16C's conversion is IEEE round-to-nearest-even (subnormals, overflow to inf); only NaN
// payloads differ from the integer path, and they are made canonical here.
#if defined(SIMDOPTIM_TARGET_AVX512)
template <>
SIMDOPTIM_LANE VecU32 f16_nearest<VecF32>(VecF32 x) {
    const VecU32 h = {_mm512_cvtepu16_epi32(_mm512_cvtps_ph(x.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))};
    const VecU32 b = VecU32::bits(x), a = b & VecU32::set1(0x7FFFFFFF);
    const VecU32 nan = (b.shr<16>() & VecU32::set1(0x8000)) | VecU32::set1(0x7E00);
    return select(gt(a, VecU32::set1(0x7F800000)), nan, h);
}
#elif defined(SIMDOPTIM_TARGET_AVX2)
template <>
SIMDOPTIM_LANE VecU32 f16_nearest<VecF32>(VecF32 x) {
    const VecU32 h = {_mm256_cvtepu16_epi32(_mm256_cvtps_ph(x.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))};
    const VecU32 b = VecU32::bits(x), a = b & VecU32::set1(0x7FFFFFFF);
    const VecU32 nan = (b.shr<16>() & VecU32::set1(0x8000)) | VecU32::set1(0x7E00);
    return select(gt(a, VecU32::set1(0x7F800000)), nan, h);
}
#endif
#endif

template <class V>
SIMDOPTIM_LANE typename U32Of<V>::type f16_stochastic(V x, typename U32Of<V>::type r) {
    using U = typename U32Of<V>::type;
    const U b = U::bits(x), a = b & U::set1(0x7FFFFFFF);
    const U sign = b.template shr<16>() & U::set1(0x8000);
    // normal results: add r/8 to the 13 dropped bits, truncate, rebias; a carry past 65504 is inf
    const U t = (a + r.template shr<3>()) & U::set1(0xFFFFE000u);
    const U norm = select(gt(t, U::set1(0x477FFFFF)), U::set1(0x7C00), (t - U::set1(0x38000000)).template shr<13>());
    // subnormal results (|x| < 2^-14): units of 2^-40, i.e. 16 bits below the last place 2^-24
    const U q = U::trunc(a.as_float() * V::set1(1099511627776.0f));  // * 2^40, exact
    const U sub = (q + r).template shr<16>();
    U o = select(gt(U::set1(0x38800000), a), sub, norm);
    o = select(gt(a, U::set1(0x7F7FFFFF)), select(eq(a, U::set1(0x7F800000)), U::set1(0x7C00), U::set1(0x7E00)), o);
    return o | sign;
}

// ---------------------------------------------------------------------------------------
// Stores.

template <class V>
SIMDOPTIM_LANE void store_nearest(typename V::value_type* p, V x) {
    x.store(p);
}
template <class V>
SIMDOPTIM_LANE void store_nearest(bf16* p, V x) {
    bf16_nearest(x).store_u16(reinterpret_cast<std::uint16_t*>(p));
}
template <class V>
SIMDOPTIM_LANE void store_nearest(f16* p, V x) {
    f16_nearest(x).store_u16(reinterpret_cast<std::uint16_t*>(p));
}

// r: the random 16-bit values of these lanes (one per 32-bit integer), see fill_random
template <class V>
SIMDOPTIM_LANE void store_stochastic(bf16* p, V x, const std::uint32_t* r) {
    using U = typename U32Of<V>::type;
    bf16_stochastic(x, U::load(r)).store_u16(reinterpret_cast<std::uint16_t*>(p));
}
template <class V>
SIMDOPTIM_LANE void store_stochastic(f16* p, V x, const std::uint32_t* r) {
    using U = typename U32Of<V>::type;
    f16_stochastic(x, U::load(r)).store_u16(reinterpret_cast<std::uint16_t*>(p));
}

// A store with the step's rounding: stochastic (r not null) or nearest. float32/float64
// stores are exact.
template <class V, class E>
SIMDOPTIM_LANE void store_rounded(E* p, V x, bool stochastic, const std::uint32_t* r) {
    if constexpr (is_lowp<E>) {
        if (stochastic) return store_stochastic(p, x, r);
    }
    (void)stochastic;
    (void)r;
    store_nearest(p, x);
}

// ---------------------------------------------------------------------------------------
// What happens to a gradient before the algorithm sees it (SPEC 12, StepCommon): unscaling,
// g / grad_scale, then clipping, g * clip, in the compute type T. g / s equals g * (1/s) bit
// for bit when 1/s is exact (s a power of two with a representable reciprocal, as the loss
// scales of dynamic loss scaling are): then the division is a multiplication.
template <class T>
struct GradPrologue {
    bool unscale = false, multiply = false, clip = false;
    T scale = 1, inverse = 1, coef = 1;
    GradPrologue(const StepCommon* c, bool with_clip) {
        if (!c) return;
        if (c->unscale) {
            unscale = true;
            scale = T(c->grad_scale);
            const T inv = T(1) / scale;
            int e = 0;
            multiply = inv != T(0) && inv * scale == T(1) && __builtin_frexp(double(scale), &e) == 0.5 &&
                       __builtin_frexp(double(inv), &e) == 0.5;
            inverse = inv;
        }
        if (with_clip && c->clip_on) {
            clip = true;
            coef = T(c->clip);
        }
    }
    bool any() const { return unscale || clip; }
    template <class V>
    SIMDOPTIM_LANE V operator()(V g) const {
        if (unscale) g = multiply ? g * V::set1(inverse) : g / V::set1(scale);  // g = g / grad_scale
        if (clip) g = g * V::set1(coef);                                          // g = g * clip
        return g;
    }
};

// ---------------------------------------------------------------------------------------
// Random bits: Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw,
// "Parallel random numbers: as easy as 1, 2, 3" (SC 2011), lane by lane.

template <class U>
void philox4x32_10(U& x0, U& x1, U& x2, U& x3, std::uint32_t k0, std::uint32_t k1) {
    for (int round = 0; round < 10; ++round) {
        if (round) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        U hi0, lo0, hi1, lo1;
        mulhilo(x0, 0xD2511F53u, hi0, lo0);
        mulhilo(x2, 0xCD9E8D57u, hi1, lo1);
        const U y0 = hi1 ^ x1 ^ U::set1(k0), y2 = hi0 ^ x3 ^ U::set1(k1);
        x0 = y0;
        x1 = lo1;
        x2 = y2;
        x3 = lo0;
    }
}

// Elements per batch of random values; batches start at element indices that are multiples
// of it, whatever the thread split.
constexpr std::size_t kRandomBatch = 128;

// out[j] (j < 128) = the random 16-bit value of element e = base + j of the stream `stream`
// (0: the parameter, 1 + k: state buffer k) of tensor `tensor` at step `step`:
//   block  beta = 16 * (e >> 7) + (e & 15),  word w = (e >> 4) & 3,  half h = (e >> 6) & 1
//   (x0, x1, x2, x3) = Philox4x32-10(counter = (beta mod 2^32, beta >> 32,
//                                                tensor * 4 + stream, step mod 2^32),
//                                      key = (seed mod 2^32, seed >> 32))
//   out[j] = (x_w >> 16 h) & 0xFFFF
// so one Philox block gives 8 elements of one stream their 16 bits each, and the 16 blocks
// of a batch are 16 consecutive counters. base must be a multiple of kRandomBatch.
inline void fill_random(std::uint32_t* out, std::uint64_t base, std::uint32_t tensor, std::uint32_t stream,
                        std::uint64_t step, std::uint64_t seed) {
    using U = typename U32Of<Vec<float>>::type;
    const std::uint64_t beta0 = (base >> 7) * 16;
    const std::uint32_t c1 = std::uint32_t(beta0 >> 32), c2 = tensor * 4u + stream, c3 = std::uint32_t(step);
    const std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
    alignas(64) std::uint32_t lane[16];
    for (std::uint32_t b = 0; b < 16; ++b) lane[b] = std::uint32_t(beta0) + b;  // beta0 is a multiple of 16: no carry
    for (std::size_t b = 0; b < 16; b += U::lanes) {
        U x0 = U::load(lane + b), x1 = U::set1(c1), x2 = U::set1(c2), x3 = U::set1(c3);
        philox4x32_10(x0, x1, x2, x3, k0, k1);
        const U x[4] = {x0, x1, x2, x3};
        for (int w = 0; w < 4; ++w) {
            (x[w] & U::set1(0xFFFF)).store(out + 16 * w + b);
            x[w].template shr<16>().store(out + 64 + 16 * w + b);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The loop of an update kernel with low-precision stores: body(V tag, i, j) for every
// element i of [begin, end), where j indexes the random bits of element i in rnd[k]
// (rnd[k] + j is what store_rounded takes for stream k). With stochastic rounding the
// elements go by batches of kRandomBatch that first draw the bits of the streams in
// `streams` (bit k: stream k); otherwise j is 0 and rnd is never read.
template <class T, class Body>
void for_each_element(const Slot& s, std::size_t begin, std::size_t end, bool stochastic, unsigned streams,
                      std::uint32_t (&rnd)[4][kRandomBatch], Body&& body) {
    if (!stochastic) {
        for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) SIMDOPTIM_BODY { body(tag, i, std::size_t(0)); });
        return;
    }
    const std::uint64_t seed = s.common->seed, step = s.common->step;
    for (std::size_t b0 = begin; b0 < end;) {
        const std::size_t base = b0 / kRandomBatch * kRandomBatch, b1 = std::min(end, base + kRandomBatch);
        for (unsigned k = 0; k < 4; ++k)
            if (streams & (1u << k)) fill_random(rnd[k], base, s.index, k, step, seed);
        for_each_lane_block<T>(b0, b1, [&](auto tag, std::size_t i) SIMDOPTIM_BODY { body(tag, i, i - base); });
        b0 = b1;
    }
}

// The low-precision copy of a float32 master (Slot::param_copy), rounded to nearest even.
template <class P, class V>
SIMDOPTIM_LANE void write_copy(void* copy, DType copy_dtype, std::size_t i, V w) {
    if constexpr (std::is_same_v<P, float>) {
        if (copy) {
            if (copy_dtype == kBFloat16) store_nearest(static_cast<bf16*>(copy) + i, w);
            else store_nearest(static_cast<f16*>(copy) + i, w);
        }
    } else {
        (void)copy, (void)copy_dtype, (void)i, (void)w;
    }
}

// Whether a float32/float64 update needs the general kernel (unscaling, clipping, a copy),
// or its plain one does.
inline bool needs_extras(const Slot& s) {
    return s.param_copy || (s.common && (s.common->unscale || s.common->clip_on));
}

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
