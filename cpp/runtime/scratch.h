// scratch.h - per-thread scratch buffers for kernels that need them (take's column tiles).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace simdoptim {
namespace runtime {

// The threads' tile buffers (gather.cpp), allocated before the parallel region so that a
// failure is a MemoryError rather than an exception escaping OpenMP. One block is kept
// between calls and reused: allocating it afresh costs its page faults and the kernel's
// zeroing every call, measured 5-15% of a (64, 1e6) float32 gather. A call that finds it
// in use by another thread gets a block of its own, freed on return. On Linux the blocks
// ask for huge pages, since the tiles are read at random.
class Scratch {
   public:
    Scratch(std::size_t threads, std::size_t bytes_each) : cache_(cache_mutex(), std::try_to_lock) {
        stride_ = (bytes_each + kHuge - 1) / kHuge * kHuge;
        const std::size_t size = stride_ * threads;
        if (cache_.owns_lock() && size <= kKeepBytes) {
            Block& b = cached();
            if (b.size < size) {
                std::free(b.data);
                b.data = nullptr;
                b.size = 0;
                b.data = allocate(size);
                b.size = size;
            }
            data_ = b.data;
        } else {
            data_ = own_ = allocate(size);
        }
    }
    ~Scratch() { std::free(own_); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    void* slot(std::size_t i) const { return data_ + i * stride_; }
    // the most scratch memory kept between calls
    static constexpr std::size_t kKeepBytes = std::size_t(8) << 20;

   private:
    static constexpr std::size_t kHuge = std::size_t(2) << 20;
    struct Block {
        char* data = nullptr;
        std::size_t size = 0;
        ~Block() { std::free(data); }
    };
    static std::mutex& cache_mutex() {
        static std::mutex mu;
        return mu;
    }
    static Block& cached() {
        static Block block;
        return block;
    }
    static char* allocate(std::size_t size) {
        char* p = static_cast<char*>(std::aligned_alloc(kHuge, size));
        if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        madvise(p, size, MADV_HUGEPAGE);
#endif
        return p;
    }
    std::unique_lock<std::mutex> cache_;
    char* data_ = nullptr;
    char* own_ = nullptr;
    std::size_t stride_ = 0;
};

}  // namespace runtime
}  // namespace simdoptim
