// parallel.h - threads outside, SIMD inside.
//
// One parallel region per call, however many tensors: the concatenation of all tensors is
// cut into equal byte ranges, one per thread, and each range is walked tensor by tensor.
// Cut points are moved to 64-byte lines of the parameter so no two threads write the same
// cache line. Work below a grain stays on the calling thread (no region at all), so small
// steps pay no threading cost. The update is element-wise, so the result is the same for
// any thread count.
#pragma once

#include <cstddef>
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "../kernels/kernels.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace simdoptim {
namespace runtime {

int num_threads();
// n < 1 counts as 1; in a process forked after a parallel region ran, always 1 (parallel.cpp).
void set_num_threads(int n);
// Called before every OpenMP region, so a later fork knows the child must stay single-threaded.
void note_parallel_region();
bool single_threaded_after_fork();
bool has_openmp();
// Below this many elements per thread no extra thread is started.
std::size_t parallel_grain();
void set_parallel_grain(std::size_t elements);

// How many threads to use for work of this many elements.
inline int threads_for(std::size_t elements) {
    const std::size_t by_grain = elements / (parallel_grain() ? parallel_grain() : 1);
    const int nt = num_threads();
    if (by_grain <= 1 || nt <= 1) return 1;
    return by_grain < std::size_t(nt) ? int(by_grain) : nt;
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

// Calls fn(slot, begin, end) so that every element of every slot is covered exactly once.
template <class Fn>
void for_each_slot_range(const Slot* slots, std::size_t count, Fn&& fn) {
    std::size_t total_bytes = 0, total_elems = 0;
    for (std::size_t i = 0; i < count; ++i) {
        total_bytes += slots[i].n * dtype_size(slots[i].param_dtype);
        total_elems += slots[i].n;
    }
    const int nt = threads_for(total_elems);
    if (nt <= 1) {
        for (std::size_t i = 0; i < count; ++i)
            if (slots[i].n) fn(slots[i], std::size_t(0), slots[i].n);
        return;
    }
#if defined(_OPENMP)
    note_parallel_region();
#pragma omp parallel num_threads(nt)
    {
        const std::size_t tid = std::size_t(omp_get_thread_num()), nth = std::size_t(omp_get_num_threads());
        const std::size_t lo = total_bytes / nth * tid + total_bytes % nth * tid / nth;
        const std::size_t hi = total_bytes / nth * (tid + 1) + total_bytes % nth * (tid + 1) / nth;
        std::size_t prefix = 0;
        for (std::size_t i = 0; i < count && prefix < hi; ++i) {
            const std::size_t bytes = slots[i].n * dtype_size(slots[i].param_dtype);
            if (prefix + bytes > lo) {
                const std::size_t b = lo <= prefix ? 0 : line_aligned_index(slots[i], lo - prefix);
                const std::size_t e = hi >= prefix + bytes ? slots[i].n : line_aligned_index(slots[i], hi - prefix);
                if (b < e) fn(slots[i], b, e);
            }
            prefix += bytes;
        }
    }
#endif
}

// Calls fn(begin, end) over [0, items) split evenly across threads; `elements_per_item`
// is the work of one item, for the grain.
template <class Fn>
void parallel_items(std::size_t items, std::size_t elements_per_item, Fn&& fn) {
    const int nt_by_work = threads_for(items * elements_per_item);
    const int nt = std::size_t(nt_by_work) > items ? int(items) : nt_by_work;
    if (nt <= 1) {
        if (items) fn(std::size_t(0), items);
        return;
    }
#if defined(_OPENMP)
    note_parallel_region();
#pragma omp parallel num_threads(nt)
    {
        const std::size_t tid = std::size_t(omp_get_thread_num()), nth = std::size_t(omp_get_num_threads());
        const std::size_t b = items * tid / nth, e = items * (tid + 1) / nth;
        if (b < e) fn(b, e);
    }
#endif
}

// How many threads parallel_chunks will use for this work.
inline std::size_t chunk_threads(std::size_t items, std::size_t elements_per_item) {
    return std::max<std::size_t>(1, std::min<std::size_t>(std::size_t(runtime::threads_for(items * elements_per_item)), items));
}

// Splits [0, items) into chunks handed out from a shared counter: a thread slowed down by
// another process on its core then does less of the work instead of holding up the whole
// call, as an even static split would (a gather moves bytes, so who copies what never
// changes the result). fn(slot, begin, end): slot < nt is the same for all chunks one
// thread runs, for per-thread buffers; nt comes from chunk_threads.
template <class Fn>
void parallel_chunks(std::size_t nt, std::size_t items, Fn&& fn) {
    if (nt <= 1) {
        if (items) fn(std::size_t(0), std::size_t(0), items);
        return;
    }
    const std::size_t chunks = std::min(items, nt * 8);
    std::atomic<std::size_t> next{0};
    // One "item" per thread, its index the thread's slot, each item worth one grain so
    // that parallel_items starts nt threads. If it starts fewer (the thread count was
    // lowered meanwhile) a thread gets several slots, uses the first, and the shared
    // counter still hands out every chunk.
    runtime::parallel_items(nt, runtime::parallel_grain(), [&](std::size_t slot, std::size_t) {
        for (std::size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
            fn(slot, items * c / chunks, items * (c + 1) / chunks);
    });
}

}  // namespace runtime
}  // namespace simdoptim
