// parallel.h - threads outside, SIMD inside.
//
// A call's work is cut into more chunks than threads. The calling thread publishes the
// chunks, wakes the pool's workers it wants and starts on the chunks itself; every thread
// claims the next chunk from one shared word until none is left, so a worker that another
// process keeps off its core simply claims fewer (or none) and a worker that wakes after the
// last chunk was claimed finds nothing and touches nothing. The call returns as soon as every
// claimed chunk is done: the caller never waits for a thread that has not started (an OpenMP
// parallel region ends at a barrier that waits for every thread of the team, scheduled or
// not; see the README, Performance). Idle workers spin briefly, then sleep in the kernel.
//
// Chunk boundaries inside a tensor fall on 64-byte lines of the parameter, so no two threads
// write the same cache line, and the kernels are element-wise: the result is the same bits
// for any split and any thread count.
//
// The thread count follows the work: a call uses at most one thread per `grain` elements of
// its kind of kernel (streaming update, read-only pass, gather, scan; the knees were measured,
// see parallel.cpp), so small calls run on the caller alone and never wake anyone.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../kernels/kernels.h"

namespace simdoptim {
namespace runtime {

// What a call's work is like, for how many elements a thread must have to be worth waking.
enum class Work : int { kUpdate = 0, kRead = 1, kGather = 2, kScan = 3, kCount = 4 };
const char* work_name(Work w);

int num_threads();
// n < 1 counts as 1.
void set_num_threads(int n);
// Elements per thread below which no further thread is used, for this kind of work.
std::size_t parallel_grain(Work w);
// The override set by set_parallel_grain (0: none, the measured grains apply).
std::size_t parallel_grain_override();
// Tests: one grain for every kind (so that tiny arrays are split); 0 restores the measured ones.
void set_parallel_grain(std::size_t elements);
// How long an idle worker spins before it sleeps, in microseconds (benchmarks).
double spin_us();
void set_spin_us(double us);
// Worker threads started so far in this process (after a fork: in this child).
int pool_workers();
// Times a call found the pool busy (another thread's call, or a nested call) and ran on its
// own thread alone; and chunks run by workers rather than by callers (tests, diagnostics).
unsigned long long inline_calls();
// Calls run on the caller alone because recent calls found no worker able to help.
unsigned long long backoff_calls();
unsigned long long worker_chunks();
// Tests: every worker sleeps this long after it wakes, before it looks for a chunk.
void set_worker_delay_us(unsigned us);

// How many threads to use for `elements` elements of this kind of work.
inline int threads_for(std::size_t elements, Work w = Work::kUpdate) {
    const std::size_t grain = parallel_grain(w);
    const std::size_t by_grain = elements / (grain ? grain : 1);
    const int nt = num_threads();
    if (by_grain <= 1 || nt <= 1) return 1;
    return by_grain < std::size_t(nt) ? int(by_grain) : nt;
}

// The engine: runs fn(ctx, slot, c) once for every chunk c in [0, chunks) on up to `width`
// threads, the caller included; slot < width is the same for every chunk one thread runs
// (0 for the caller), for per-thread buffers. Returns when every chunk is done. When the
// pool is busy (another thread's call, or a call from inside a chunk) the caller runs every
// chunk itself with slot 0. fn must not throw.
using ChunkFn = void (*)(void* ctx, std::size_t slot, std::size_t chunk);
void run_chunks(std::size_t width, std::size_t chunks, ChunkFn fn, void* ctx);
// At most this many chunks per call.
constexpr std::size_t kMaxChunks = 4096;

template <class F>
void parallel_for_chunks(std::size_t width, std::size_t chunks, F& f) {
    run_chunks(width, chunks, [](void* ctx, std::size_t slot, std::size_t c) { (*static_cast<F*>(ctx))(slot, c); }, &f);
}

// Chunks per call: enough that a thread held up by another process leaves little behind it
// (the others take its share), few enough that claiming one costs nothing next to its work.
inline std::size_t chunks_for(std::size_t width, std::size_t bytes) {
    constexpr std::size_t kChunkBytes = std::size_t(64) << 10;  // ~5-15 us of streaming per chunk
    const std::size_t by_size = bytes / kChunkBytes;
    const std::size_t lo = width * 4, hi = std::min<std::size_t>(width * 64, kMaxChunks);
    return std::max(lo, std::min(hi, by_size));
}

// First element at or after byte offset `bytes` of the slot whose parameter address
// starts a 64-byte line (clamped to [0, n]).
inline std::size_t line_aligned_index(const Slot& s, std::size_t bytes) {
    const std::size_t es = dtype_size(s.param_dtype);
    if (bytes >= s.n * es) return s.n;
    const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(s.param);
    const std::uintptr_t aligned = (base + bytes + 63) & ~std::uintptr_t(63);
    const std::size_t idx = (aligned - base + es - 1) / es;
    return idx < s.n ? idx : s.n;
}

// Calls fn(slot, begin, end) over byte range [lo, hi) of the concatenated parameters, whose
// byte offsets start at prefix[i] (prefix[count] is the total): every element of every slot
// is covered exactly once by the ranges [0, c1), [c1, c2), ... of any cut points.
template <class Fn>
void slot_byte_range(const Slot* slots, const std::size_t* prefix, std::size_t count, std::size_t lo, std::size_t hi,
                     Fn& fn) {
    std::size_t i = std::size_t(std::upper_bound(prefix, prefix + count, lo) - prefix);
    i = i ? i - 1 : 0;
    for (; i < count && prefix[i] < hi; ++i) {
        const std::size_t start = prefix[i], bytes = prefix[i + 1] - start;
        if (start + bytes <= lo || !slots[i].n) continue;
        const std::size_t b = lo <= start ? 0 : line_aligned_index(slots[i], lo - start);
        const std::size_t e = hi >= start + bytes ? slots[i].n : line_aligned_index(slots[i], hi - start);
        if (b < e) fn(slots[i], b, e);
    }
}

// Calls fn(slot, begin, end) so that every element of every slot is covered exactly once:
// the concatenation of all tensors is cut into chunks of equal bytes on 64-byte lines.
template <class Fn>
void for_each_slot_range(const Slot* slots, std::size_t count, Fn&& fn, Work kind = Work::kUpdate) {
    std::size_t total_elems = 0;
    for (std::size_t i = 0; i < count; ++i) total_elems += slots[i].n;
    const int nt = threads_for(total_elems, kind);
    if (nt <= 1) {
        for (std::size_t i = 0; i < count; ++i)
            if (slots[i].n) fn(slots[i], std::size_t(0), slots[i].n);
        return;
    }
    constexpr std::size_t kStack = 32;
    std::size_t stack_prefix[kStack + 1];
    std::size_t* prefix = stack_prefix;
    std::size_t* heap = nullptr;
    if (count > kStack) prefix = heap = new std::size_t[count + 1];  // std::bad_alloc before any work
    prefix[0] = 0;
    for (std::size_t i = 0; i < count; ++i) prefix[i + 1] = prefix[i] + slots[i].n * dtype_size(slots[i].param_dtype);
    const std::size_t total = prefix[count];
    const std::size_t chunks = std::min(chunks_for(std::size_t(nt), total), std::max<std::size_t>(total / 64, 1));
    auto body = [&](std::size_t, std::size_t c) {
        const std::size_t lo = total / chunks * c + total % chunks * c / chunks;
        const std::size_t hi = total / chunks * (c + 1) + total % chunks * (c + 1) / chunks;
        slot_byte_range(slots, prefix, count, lo, hi, fn);
    };
    parallel_for_chunks(std::size_t(nt), chunks, body);
    delete[] heap;
}

// Calls fn(begin, end) over [0, items), cut into chunks spread over the threads;
// `elements_per_item` is the work of one item, for the grain.
template <class Fn>
void parallel_items(std::size_t items, std::size_t elements_per_item, Fn&& fn, Work kind = Work::kUpdate) {
    const int nt_by_work = threads_for(items * elements_per_item, kind);
    const std::size_t nt = std::min<std::size_t>(std::size_t(nt_by_work), items);
    if (nt <= 1) {
        if (items) fn(std::size_t(0), items);
        return;
    }
    const std::size_t chunks = std::min(items, std::min(nt * 16, kMaxChunks));
    auto body = [&](std::size_t, std::size_t c) { fn(items * c / chunks, items * (c + 1) / chunks); };
    parallel_for_chunks(nt, chunks, body);
}

// How many threads parallel_chunks will use for this work.
inline std::size_t chunk_threads(std::size_t items, std::size_t elements_per_item, Work kind = Work::kGather) {
    return std::max<std::size_t>(1, std::min<std::size_t>(std::size_t(threads_for(items * elements_per_item, kind)), items));
}

// Calls fn(slot, begin, end) over [0, items) in chunks on up to nt threads (nt from
// chunk_threads); slot < nt is the same for all chunks one thread runs, for per-thread
// buffers.
template <class Fn>
void parallel_chunks(std::size_t nt, std::size_t items, Fn&& fn) {
    if (nt <= 1) {
        if (items) fn(std::size_t(0), std::size_t(0), items);
        return;
    }
    const std::size_t chunks = std::min(items, std::min(nt * 16, kMaxChunks));
    auto body = [&](std::size_t slot, std::size_t c) { fn(slot, items * c / chunks, items * (c + 1) / chunks); };
    parallel_for_chunks(nt, chunks, body);
}

}  // namespace runtime
}  // namespace simdoptim
