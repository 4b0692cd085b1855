// parallel.cpp - the thread count and the grain below which one thread runs.
// The default thread count is OpenMP's (so OMP_NUM_THREADS is respected); without OpenMP
// everything runs on the calling thread.
//
// Fork safety: GNU libgomp keeps its worker threads in a pool that a forked child does not
// inherit, and a child that opens a parallel region after its parent did waits forever for
// them (measured: multiprocessing with the fork start method hangs). A pthread_atfork child
// handler therefore pins such a child to one thread: it never enters an OpenMP region, so
// it cannot hang, and its results are the same (they do not depend on the thread count).
#include "parallel.h"

#include <atomic>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define SIMDOPTIM_HAVE_ATFORK 1
#endif

namespace simdoptim {
namespace runtime {
namespace {

int initial_threads() {
#if defined(_OPENMP)
    const int n = omp_get_max_threads();
    return n > 0 ? n : 1;
#else
    return 1;
#endif
}

std::atomic<int> g_threads{initial_threads()};
// A parallel region costs a few microseconds to open, about what one thread needs to
// update tens of thousands of elements; below that one thread is faster.
std::atomic<std::size_t> g_grain{32768};
std::atomic<bool> g_region_opened{false};
std::atomic<bool> g_single_after_fork{false};

#if defined(SIMDOPTIM_HAVE_ATFORK)
void in_forked_child() {
    if (g_region_opened.load(std::memory_order_relaxed)) {
        g_single_after_fork.store(true, std::memory_order_relaxed);
        g_threads.store(1, std::memory_order_relaxed);
    }
}
const int g_atfork_registered = pthread_atfork(nullptr, nullptr, in_forked_child);
#endif

}  // namespace

int num_threads() { return g_threads.load(std::memory_order_relaxed); }
void set_num_threads(int n) {
    if (g_single_after_fork.load(std::memory_order_relaxed)) n = 1;  // see the note at the top
    g_threads.store(n > 0 ? n : 1, std::memory_order_relaxed);
}
void note_parallel_region() { g_region_opened.store(true, std::memory_order_relaxed); }
bool single_threaded_after_fork() { return g_single_after_fork.load(std::memory_order_relaxed); }
bool has_openmp() {
#if defined(_OPENMP)
    return true;
#else
    return false;
#endif
}
std::size_t parallel_grain() { return g_grain.load(std::memory_order_relaxed); }
void set_parallel_grain(std::size_t elements) { g_grain.store(elements ? elements : 1, std::memory_order_relaxed); }

}  // namespace runtime
}  // namespace simdoptim
