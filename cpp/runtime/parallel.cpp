// parallel.cpp - the thread count and the grain below which one thread runs.
// The default thread count is OpenMP's (so OMP_NUM_THREADS is respected); without OpenMP
// everything runs on the calling thread.
#include "parallel.h"

#include <atomic>

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

}  // namespace

int num_threads() { return g_threads.load(std::memory_order_relaxed); }
void set_num_threads(int n) { g_threads.store(n > 0 ? n : 1, std::memory_order_relaxed); }
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
