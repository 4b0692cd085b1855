// take.cpp - the mini-batch gather: dst = np.take(src, idx, axis) by copying bytes.
//
// Nothing is computed, so one kernel per element size (1, 2, 4, 8, 16 bytes) serves every
// dtype, and the result is bit-identical to NumPy's by construction. Three shapes of work:
//
// * gather_rows: whole rows of row_bytes each (axis 0 of an (m, n) array). Rows come in
//   random order, so the time goes in cache misses, not in copying: the rows about 4 KB
//   ahead are prefetched line by line while the current one is copied.
// * gather_elems: single elements out of each of `rows` source rows (a 1-D take, rows of
//   1 to 16 bytes, or columns of a narrow or short (n, m) array). One source row is
//   finished before the next is started, so its working set stays cached while it is read
//   in random order, and the output row is written sequentially.
// * gather_cols_tiled: columns of a wide (n, m) array, where a naive gather fetches one
//   random cache line per element. Blocks of rows are first transposed into a scratch
//   tile so that one 64-byte line holds a column of the block; see below.
//
// Indices were checked by the binding (every one in [-length, length)); negative ones
// count from the end as in NumPy. The binding hands ranges of work items to the threads.
#include <cstring>

#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class I>
inline std::size_t wrap(I s, std::size_t length) {
    // a negative index counts from the end, as in NumPy. Every index was range-checked
    // before the gather, but the indices live in the caller's array, which another Python
    // thread may change while the GIL is released; the clamp (a compare and a conditional
    // move, no measurable cost) keeps even such a racing index inside X, so a race gives
    // unspecified rows, never a read outside the array.
    const std::size_t i = s < 0 ? std::size_t(std::int64_t(s) + std::int64_t(length)) : std::size_t(s);
    return i < length ? i : length - 1;
}

inline void prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// How many rows ahead the source is prefetched: about 4 KB, enough to cover a DRAM miss
// at the rate rows are copied, little enough that the lines are still in L1/L2 when used.
// (On the 2-core EPYC this was tuned on, 16 rows of 256 B were at least as fast as 4 or
// 8, within the noise of a shared machine; streaming stores for the output were slower.)
inline std::size_t rows_ahead(std::size_t row_bytes) {
    const std::size_t n = 4096 / (row_bytes ? row_bytes : 1);
    return n < 1 ? 1 : (n > 16 ? 16 : n);
}

template <class I>
void gather_rows_impl(const Gather& g, std::size_t begin, std::size_t end) {
    const char* __restrict src = static_cast<const char*>(g.src);
    char* __restrict dst = static_cast<char*>(g.dst);
    const I* __restrict idx = static_cast<const I*>(g.indices);
    const std::size_t rb = g.unit;
    const std::ptrdiff_t step = g.src_unit, out_step = g.dst_unit;  // a row apart (any sign)
    const std::size_t ahead = rows_ahead(rb);
    for (std::size_t j = begin; j < end; ++j) {
        if (j + ahead < end) {
            const char* next = src + std::ptrdiff_t(wrap(idx[j + ahead], g.length)) * step;
            for (std::size_t off = 0; off < rb; off += 64) prefetch(next + off);
        }
        std::memcpy(dst + std::ptrdiff_t(j) * out_step, src + std::ptrdiff_t(wrap(idx[j], g.length)) * step, rb);
    }
}

// One element of U bytes, copied without assuming alignment (memcpy of a constant size
// compiles to one load and one store).
template <std::size_t U>
struct Unit {
    unsigned char b[U];
};

// CONTIG: units adjacent on both sides (src_unit == dst_unit == U), the common case, where
// the addresses are shifts; otherwise any byte strides.
template <std::size_t U, class I, bool CONTIG>
void gather_elems_impl(const Gather& g, std::size_t item_begin, std::size_t item_end) {
    using T = Unit<U>;
    const char* src = static_cast<const char*>(g.src);
    char* dst = static_cast<char*>(g.dst);
    const I* __restrict idx = static_cast<const I*>(g.indices);
    const std::size_t blocks = (g.count + kGatherBlock - 1) / kGatherBlock;
    const std::size_t length = g.length;
    const std::ptrdiff_t su = CONTIG ? std::ptrdiff_t(U) : g.src_unit, du = CONTIG ? std::ptrdiff_t(U) : g.dst_unit;
    for (std::size_t item = item_begin; item < item_end; ++item) {
        const std::size_t r = item / blocks, j0 = (item % blocks) * kGatherBlock;
        const std::size_t j1 = j0 + kGatherBlock < g.count ? j0 + kGatherBlock : g.count;
        const char* __restrict s = src + std::ptrdiff_t(r) * g.src_row;
        char* __restrict d = dst + std::ptrdiff_t(r) * g.dst_row;
        for (std::size_t j = j0; j < j1; ++j) {
            T v;
            std::memcpy(&v, s + std::ptrdiff_t(wrap(idx[j], length)) * su, U);
            std::memcpy(d + std::ptrdiff_t(j) * du, &v, U);
        }
    }
}

template <std::size_t U>
void gather_elems(const Gather& g, std::size_t b, std::size_t e) {
    const bool contig = g.src_unit == std::ptrdiff_t(U) && g.dst_unit == std::ptrdiff_t(U);
    if (g.indices64) {
        if (contig) return gather_elems_impl<U, std::int64_t, true>(g, b, e);
        return gather_elems_impl<U, std::int64_t, false>(g, b, e);
    }
    if (contig) return gather_elems_impl<U, std::int32_t, true>(g, b, e);
    gather_elems_impl<U, std::int32_t, false>(g, b, e);
}

#if defined(SIMDOPTIM_X86)
// A 16-byte store; `stream` bypasses the caches (the line is not read first), for
// destinations that are 16-byte aligned and not read again soon.
template <bool STREAM>
inline void store16(char* p, __m128i v) {
    if constexpr (STREAM)
        _mm_stream_si128(reinterpret_cast<__m128i*>(p), v);
    else
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
}
#endif

// d[c][r] = s[r][c] for a 4 x 4 block of U-byte units: s[r] points at 4 units of source
// row r, d[c] at 4 units of destination row c. SSE2 (part of every x86-64 path) moves a
// whole row of the block per instruction for 4- and 8-byte units.
template <std::size_t U, bool STREAM = false>
inline void transpose4(const char* const s[4], char* const d[4]) {
#if defined(SIMDOPTIM_X86)
    if constexpr (U == 4) {
        __m128 a = _mm_loadu_ps(reinterpret_cast<const float*>(s[0]));
        __m128 b = _mm_loadu_ps(reinterpret_cast<const float*>(s[1]));
        __m128 c = _mm_loadu_ps(reinterpret_cast<const float*>(s[2]));
        __m128 e = _mm_loadu_ps(reinterpret_cast<const float*>(s[3]));
        _MM_TRANSPOSE4_PS(a, b, c, e);  // shuffles only: the bits are moved, never converted
        store16<STREAM>(d[0], _mm_castps_si128(a));
        store16<STREAM>(d[1], _mm_castps_si128(b));
        store16<STREAM>(d[2], _mm_castps_si128(c));
        store16<STREAM>(d[3], _mm_castps_si128(e));
        return;
    }
    if constexpr (U == 8) {
        for (int h = 0; h < 4; h += 2) {      // pairs of destination rows
            for (int v = 0; v < 4; v += 2) {  // pairs of source rows
                __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s[v] + h * 8));
                __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s[v + 1] + h * 8));
                store16<STREAM>(d[h] + v * 8, _mm_unpacklo_epi64(x, y));
                store16<STREAM>(d[h + 1] + v * 8, _mm_unpackhi_epi64(x, y));
            }
        }
        return;
    }
#endif
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) std::memcpy(d[c] + r * U, s[r] + c * U, U);
}

// Columns of a wide array through a transposed tile. Naively every gathered element costs a
// whole cache line fetched at random from a source row far larger than L2. Instead R rows
// (R units = one 64-byte line) are first transposed into scratch, so that column s of the
// block is one line; then each index fetches that line, and 16 gathered lines are
// transposed back into the block's R output rows. One line per R elements instead of one
// per element, and every other access is sequential. The time goes in memory traffic, not
// in the shuffles: 8 x 8 AVX2 transposes measured no faster than these SSE2 4 x 4 ones, so
// every path shares them.
template <std::size_t U, class I, bool STREAM_TILE, bool STREAM_OUT>
void gather_cols_tiled_impl(const Gather& g, std::size_t block_begin, std::size_t block_end, void* scratch) {
    constexpr std::size_t R = kGatherTileBytes / U;  // rows per block, units per tile line
    constexpr std::size_t L = kGatherTileBytes;      // bytes per tile line
    constexpr std::size_t W = 16;                    // columns moved per step
    // units adjacent in each source row (src_unit == U), rows src_row bytes apart (any sign);
    // destination rows dst_row bytes apart, their units adjacent
    const std::size_t m = g.length, k = g.count;
    const std::ptrdiff_t row_in = g.src_row, row_out = g.dst_row;
    const I* __restrict idx = static_cast<const I*>(g.indices);
    char* __restrict tile = static_cast<char*>(scratch);
    for (std::size_t blk = block_begin; blk < block_end; ++blk) {
        const std::size_t r0 = blk * R;
        const std::size_t rr = g.rows - r0 < R ? g.rows - r0 : R;
        const std::size_t rr4 = rr / 4 * 4;
        const char* __restrict src = static_cast<const char*>(g.src) + std::ptrdiff_t(r0) * row_in;
        char* __restrict dst = static_cast<char*>(g.dst) + std::ptrdiff_t(r0) * row_out;
        // 1. tile line s, unit r  <-  source row r, unit s
        std::size_t s0 = 0;
        for (; s0 + W <= m; s0 += W) {
            for (std::size_t q = 0; q < W; q += 4) {  // fill 4 tile lines at a time
                for (std::size_t r = 0; r < rr4; r += 4) {
                    const char* sp[4] = {src + std::ptrdiff_t(r) * row_in + (s0 + q) * U, src + std::ptrdiff_t(r + 1) * row_in + (s0 + q) * U,
                                         src + std::ptrdiff_t(r + 2) * row_in + (s0 + q) * U, src + std::ptrdiff_t(r + 3) * row_in + (s0 + q) * U};
                    char* dp[4] = {tile + (s0 + q) * L + r * U, tile + (s0 + q + 1) * L + r * U,
                                   tile + (s0 + q + 2) * L + r * U, tile + (s0 + q + 3) * L + r * U};
                    transpose4<U, STREAM_TILE>(sp, dp);
                }
            }
            for (std::size_t r = rr4; r < rr; ++r)
                for (std::size_t q = 0; q < W; ++q) std::memcpy(tile + (s0 + q) * L + r * U, src + std::ptrdiff_t(r) * row_in + (s0 + q) * U, U);
        }
        for (std::size_t r = 0; r < rr; ++r)
            for (std::size_t q = s0; q < m; ++q) std::memcpy(tile + q * L + r * U, src + std::ptrdiff_t(r) * row_in + q * U, U);
        // 2. destination row r, unit j  <-  tile line idx[j], unit r
        constexpr std::size_t kAhead = 64;  // indices ahead whose tile line is prefetched
        std::size_t j0 = 0;
        for (; j0 + W <= k; j0 += W) {
            const char* lines[W];
            for (std::size_t q = 0; q < W; ++q) {
                if (j0 + q + kAhead < k) prefetch(tile + wrap(idx[j0 + q + kAhead], m) * L);
                lines[q] = tile + wrap(idx[j0 + q], m) * L;
            }
            for (std::size_t r = 0; r < rr4; r += 4) {
                for (std::size_t q = 0; q < W; q += 4) {
                    const char* sp[4] = {lines[q] + r * U, lines[q + 1] + r * U, lines[q + 2] + r * U, lines[q + 3] + r * U};
                    char* dp[4] = {dst + std::ptrdiff_t(r) * row_out + (j0 + q) * U, dst + std::ptrdiff_t(r + 1) * row_out + (j0 + q) * U,
                                   dst + std::ptrdiff_t(r + 2) * row_out + (j0 + q) * U, dst + std::ptrdiff_t(r + 3) * row_out + (j0 + q) * U};
                    transpose4<U, STREAM_OUT>(sp, dp);
                }
            }
            for (std::size_t r = rr4; r < rr; ++r)
                for (std::size_t q = 0; q < W; ++q) std::memcpy(dst + std::ptrdiff_t(r) * row_out + (j0 + q) * U, lines[q] + r * U, U);
        }
        for (std::size_t j = j0; j < k; ++j) {
            const char* line = tile + wrap(idx[j], m) * L;
            for (std::size_t r = 0; r < rr; ++r) std::memcpy(dst + std::ptrdiff_t(r) * row_out + j * U, line + r * U, U);
        }
    }
#if defined(SIMDOPTIM_X86)
    if constexpr (STREAM_TILE || STREAM_OUT) _mm_sfence();  // streaming stores are weakly ordered
#endif
}

template <std::size_t U, class I>
void gather_cols_tiled_for(const Gather& g, std::size_t b, std::size_t e, void* scratch) {
    // Streaming stores (which skip reading the destination line first) pay off only for
    // buffers well beyond the last-level cache: measured 25% faster on a 64 MB tile and
    // 256 MB output; a tile or a batch that fits in cache is better left there. The tile
    // is 64-byte aligned; the output must be 16-byte aligned for them.
    constexpr std::size_t kBig = std::size_t(16) << 20;
    const bool tile_big = (U == 4 || U == 8) && g.length * kGatherTileBytes >= kBig;
    const bool out_big = reinterpret_cast<std::uintptr_t>(g.dst) % 16 == 0 && (g.count * U) % 16 == 0 &&
                         g.rows * g.count * U >= kBig;
    if (tile_big && out_big) return gather_cols_tiled_impl<U, I, true, true>(g, b, e, scratch);
    if (tile_big) return gather_cols_tiled_impl<U, I, true, false>(g, b, e, scratch);
    if (out_big) return gather_cols_tiled_impl<U, I, false, true>(g, b, e, scratch);
    gather_cols_tiled_impl<U, I, false, false>(g, b, e, scratch);
}

template <std::size_t U>
void gather_cols_tiled(const Gather& g, std::size_t b, std::size_t e, void* scratch) {
    if (g.indices64) return gather_cols_tiled_for<U, std::int64_t>(g, b, e, scratch);
    gather_cols_tiled_for<U, std::int32_t>(g, b, e, scratch);
}

template <class I>
void index_bounds(const void* indices, std::size_t begin, std::size_t end, std::int64_t* lo, std::int64_t* hi) {
    // plain min/max loop: the compiler vectorises it for each ISA (vpminsq on AVX-512)
    const I* __restrict idx = static_cast<const I*>(indices);
    I l = idx[begin], h = idx[begin];
    for (std::size_t j = begin; j < end; ++j) {
        l = idx[j] < l ? idx[j] : l;
        h = idx[j] > h ? idx[j] : h;
    }
    *lo = l;
    *hi = h;
}

void take_rows(const Gather& g, std::size_t b, std::size_t e) {
    if (g.indices64) return gather_rows_impl<std::int64_t>(g, b, e);
    gather_rows_impl<std::int32_t>(g, b, e);
}

constexpr KernelEntry kKernels[] = {
    index_bounds_kernel("index_bounds", 4, index_bounds<std::int32_t>),
    index_bounds_kernel("index_bounds", 8, index_bounds<std::int64_t>),
    gather_kernel("take_rows", 0, take_rows),
    gather_kernel("take_elems", 1, gather_elems<1>),
    gather_kernel("take_elems", 2, gather_elems<2>),
    gather_kernel("take_elems", 4, gather_elems<4>),
    gather_kernel("take_elems", 8, gather_elems<8>),
    gather_kernel("take_elems", 16, gather_elems<16>),
    gather_tiled_kernel("take_cols_tiled", 1, gather_cols_tiled<1>),
    gather_tiled_kernel("take_cols_tiled", 2, gather_cols_tiled<2>),
    gather_tiled_kernel("take_cols_tiled", 4, gather_cols_tiled<4>),
    gather_tiled_kernel("take_cols_tiled", 8, gather_cols_tiled<8>),
    gather_tiled_kernel("take_cols_tiled", 16, gather_cols_tiled<16>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
