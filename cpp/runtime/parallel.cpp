// parallel.cpp - the thread pool behind parallel.h, the thread count and the grains.
//
// One job at a time is published in one 64-bit word: epoch (20 bits) | width - 1 (12 bits) |
// chunks (16 bits) | next chunk (16 bits). A thread claims chunk `next` by a compare-and-swap
// of the whole word to next + 1, so a claim is valid exactly when the word it saw is still
// the current job's: a worker that slept through a job (or through many) can never claim a
// chunk of a job that is over, and one that wakes when next == chunks touches nothing else.
// The job's function and context are read only after a successful claim; the caller does
// not publish the next job before every claimed chunk has reported done, so they cannot
// change under a worker. The caller claims chunks like the workers and then waits only for
// the chunks that workers have claimed and not finished.
//
// Workers (ids 0..): worker w runs as slot w + 1 and takes part in a job only when
// w + 1 < width. Waking is a binary tree: the caller wakes the workers of slots 1 and 2, the
// worker of slot s those of slots 2s+1 and 2s+2, so the caller makes at most two wake calls
// however many threads a job uses. An idle worker spins on the job word for spin_us (a
// step that follows soon finds it awake) and then sleeps on a futex; a caller whose last
// chunks are held by workers spins briefly and then sleeps too, so a worker that was
// preempted can have the caller's core. When the workers do not get a core (other processes
// have them), calls stop waking them for a while (a doubling back-off, see run()), so an
// oversubscribed machine runs the step on the caller alone instead of paying wake-ups and
// waits for threads that will not run.
//
// Fork: the child of a fork has none of the parent's workers. A pthread_atfork child
// handler abandons the parent's pool (its memory is never touched again) and the child
// starts its own workers on its first parallel call, with the same thread count.
//
// Thread count: OMP_NUM_THREADS when set (the first number of a list, as OpenMP reads it,
// so existing job scripts keep working), else the CPUs this process may run on.
#include "parallel.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#define SIMDOPTIM_FUTEX 1
#else
#include <condition_variable>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define SIMDOPTIM_HAVE_ATFORK 1
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SIMDOPTIM_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SIMDOPTIM_PAUSE() __asm__ __volatile__("yield")
#else
#define SIMDOPTIM_PAUSE() ((void)0)
#endif

namespace simdoptim {
namespace runtime {
namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// Sleeping on a 32-bit word (a futex on Linux, a condition variable elsewhere).
class Waiter {
   public:
    std::atomic<std::uint32_t> word{0};
    // Sleeps while word == expected (may return spuriously).
    void wait(std::uint32_t expected) {
#if defined(SIMDOPTIM_FUTEX)
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
#else
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(10), [&] { return word.load() != expected; });
#endif
    }
    void wake_all() {
#if defined(SIMDOPTIM_FUTEX)
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr, nullptr, 0);
#else
        { std::lock_guard<std::mutex> lock(mu_); }
        cv_.notify_all();
#endif
    }

#if !defined(SIMDOPTIM_FUTEX)
   private:
    std::mutex mu_;
    std::condition_variable cv_;
#endif
};

// ---------------------------------------------------------------------------------------
// The job word.
constexpr int kNextBits = 16, kChunkBits = 16, kWidthBits = 12;
constexpr std::uint64_t kNextMask = (std::uint64_t(1) << kNextBits) - 1;
constexpr std::uint64_t kChunkMask = (std::uint64_t(1) << kChunkBits) - 1;
constexpr std::uint64_t kWidthMask = (std::uint64_t(1) << kWidthBits) - 1;
static_assert(kMaxChunks <= kChunkMask, "chunk count must fit the job word");
constexpr int kMaxThreads = 1 << kWidthBits;

inline std::uint64_t pack(std::uint64_t epoch, std::size_t width, std::size_t chunks, std::size_t next) {
    return (epoch << (kNextBits + kChunkBits + kWidthBits)) | (std::uint64_t(width - 1) << (kNextBits + kChunkBits)) |
           (std::uint64_t(chunks) << kNextBits) | std::uint64_t(next);
}
inline std::size_t next_of(std::uint64_t s) { return std::size_t(s & kNextMask); }
inline std::size_t chunks_of(std::uint64_t s) { return std::size_t((s >> kNextBits) & kChunkMask); }
inline std::size_t width_of(std::uint64_t s) { return std::size_t((s >> (kNextBits + kChunkBits)) & kWidthMask) + 1; }
inline bool has_work_for(std::uint64_t s, std::size_t slot) { return next_of(s) < chunks_of(s) && slot < width_of(s); }

std::atomic<double> g_spin_us{50.0};
std::atomic<unsigned long long> g_inline_calls{0}, g_worker_chunks{0}, g_backoff_calls{0};
std::atomic<unsigned> g_worker_delay_us{0};  // tests: a worker that wakes late

struct alignas(64) WorkerState {
    std::atomic<bool> sleeping{false};
    Waiter bell;
};

class Pool {
   public:
    Pool() = default;
    Pool(const Pool&) = delete;

    bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
    // Runs a job; the caller has acquired the pool, which this releases.
    void run(std::size_t width, std::size_t chunks, ChunkFn fn, void* ctx);
    int workers() const { return started_.load(std::memory_order_acquire); }

   private:
    void worker_main(std::size_t slot);
    bool claim(std::size_t slot, std::size_t* chunk);
    void wake(std::size_t slot);
    void wake_children(std::size_t slot, std::size_t width);
    std::size_t ensure_workers(std::size_t wanted);

    alignas(64) std::atomic<std::uint64_t> job_{0};
    alignas(64) std::atomic<std::uint32_t> done_{0};
    std::atomic<bool> caller_sleeping_{false};
    Waiter done_waiter_;  // the caller sleeps on done_waiter_.word, a copy of done_
    alignas(64) std::atomic<bool> busy_{false};
    ChunkFn fn_ = nullptr;  // read by workers only after a valid claim (see the top)
    void* ctx_ = nullptr;
    std::uint64_t epoch_ = 0;
    unsigned skip_ = 0, backoff_ = 0;  // see the end of run()
    std::mutex start_mu_;  // serialises thread creation
    std::atomic<int> started_{0};
    std::unique_ptr<WorkerState[]> states_{new WorkerState[kMaxThreads]};
};

thread_local bool t_in_worker = false;

bool Pool::claim(std::size_t slot, std::size_t* chunk) {
    std::uint64_t s = job_.load(std::memory_order_acquire);
    while (has_work_for(s, slot)) {
        if (job_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
            *chunk = next_of(s);
            return true;
        }
    }
    return false;
}

void Pool::wake(std::size_t slot) {
    // worker w runs slot w + 1
    if (slot == 0 || int(slot) > started_.load(std::memory_order_acquire)) return;
    WorkerState& w = states_[slot - 1];
    if (w.sleeping.load(std::memory_order_seq_cst) && w.sleeping.exchange(false, std::memory_order_seq_cst)) {
        w.bell.word.fetch_add(1, std::memory_order_seq_cst);
        w.bell.wake_all();
    }
}

void Pool::wake_children(std::size_t slot, std::size_t width) {
    for (std::size_t c = 2 * slot + 1; c <= 2 * slot + 2; ++c)
        if (c < width) wake(c);
}

void Pool::worker_main(std::size_t slot) {
    t_in_worker = true;
    WorkerState& me = states_[slot - 1];
    for (;;) {
        // wait for a job with a chunk for this slot: spin, then sleep
        std::uint64_t s = job_.load(std::memory_order_acquire);
        if (!has_work_for(s, slot)) {
            const auto spin = std::chrono::duration<double, std::micro>(g_spin_us.load(std::memory_order_relaxed));
            const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(spin);
            for (unsigned i = 1;; ++i) {
                SIMDOPTIM_PAUSE();
                s = job_.load(std::memory_order_acquire);
                if (has_work_for(s, slot)) break;
                if ((i & 63) == 0 && Clock::now() >= until) break;
            }
            while (!has_work_for(s, slot)) {
                const std::uint32_t bell = me.bell.word.load(std::memory_order_seq_cst);
                me.sleeping.store(true, std::memory_order_seq_cst);
                s = job_.load(std::memory_order_seq_cst);
                if (has_work_for(s, slot)) {
                    me.sleeping.store(false, std::memory_order_relaxed);
                    break;
                }
                me.bell.wait(bell);
                me.sleeping.store(false, std::memory_order_relaxed);
                s = job_.load(std::memory_order_acquire);
            }
        }
        wake_children(slot, width_of(s));
        if (const unsigned d = g_worker_delay_us.load(std::memory_order_relaxed))
            std::this_thread::sleep_for(std::chrono::microseconds(d));
        std::size_t c;
        while (claim(slot, &c)) {
            fn_(ctx_, slot, c);
            g_worker_chunks.fetch_add(1, std::memory_order_relaxed);
            done_.fetch_add(1, std::memory_order_seq_cst);
            if (caller_sleeping_.load(std::memory_order_seq_cst)) {
                done_waiter_.word.fetch_add(1, std::memory_order_seq_cst);
                done_waiter_.wake_all();
            }
        }
    }
}

std::size_t Pool::ensure_workers(std::size_t wanted) {
    if (wanted > std::size_t(kMaxThreads - 1)) wanted = kMaxThreads - 1;
    int have = started_.load(std::memory_order_acquire);
    if (std::size_t(have) >= wanted) return wanted;
    std::lock_guard<std::mutex> lock(start_mu_);
    have = started_.load(std::memory_order_relaxed);
    while (std::size_t(have) < wanted) {
        try {
            std::thread(&Pool::worker_main, this, std::size_t(have) + 1).detach();
        } catch (...) {
            break;  // no more threads: run with those there are
        }
        started_.store(++have, std::memory_order_release);
    }
    return std::size_t(have);
}

void Pool::run(std::size_t width, std::size_t chunks, ChunkFn fn, void* ctx) {
    const std::size_t workers = ensure_workers(width - 1);
    width = std::min(width, workers + 1);
    if (width <= 1) {
        for (std::size_t c = 0; c < chunks; ++c) fn(ctx, 0, c);
        busy_.store(false, std::memory_order_release);
        return;
    }
    if (skip_ > 0) {
        // recent calls found no worker to help (another process has the cores) or waited
        // for one: run alone for a while rather than wake a thread that will not run
        --skip_;
        g_backoff_calls.fetch_add(1, std::memory_order_relaxed);
        for (std::size_t c = 0; c < chunks; ++c) fn(ctx, 0, c);
        busy_.store(false, std::memory_order_release);
        return;
    }
    fn_ = fn;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    const auto start = Clock::now();
    epoch_ = (epoch_ + 1) & ((std::uint64_t(1) << (64 - kNextBits - kChunkBits - kWidthBits)) - 1);
    job_.store(pack(epoch_, width, chunks, 0), std::memory_order_seq_cst);
    wake_children(0, width);
    std::size_t mine = 0, c;
    while (claim(0, &c)) {
        fn(ctx, 0, c);
        ++mine;
    }
    // every chunk is claimed; wait for the workers' ones still running
    const std::uint32_t theirs = std::uint32_t(chunks - mine);
    const auto own_end = Clock::now();
    bool waited = false;
    if (done_.load(std::memory_order_acquire) != theirs) {
        const auto until = Clock::now() + std::chrono::microseconds(20);
        for (unsigned i = 1; done_.load(std::memory_order_acquire) != theirs; ++i) {
            SIMDOPTIM_PAUSE();
            if ((i & 63) == 0 && Clock::now() >= until) break;
        }
        while (done_.load(std::memory_order_acquire) != theirs) {
            const std::uint32_t seen = done_waiter_.word.load(std::memory_order_seq_cst);
            caller_sleeping_.store(true, std::memory_order_seq_cst);
            if (done_.load(std::memory_order_seq_cst) != theirs) done_waiter_.wait(seen);
            caller_sleeping_.store(false, std::memory_order_seq_cst);
        }
        waited = Clock::now() - own_end > own_end - start;
    }
    // A call that no worker helped, or that waited longer for a worker than it worked
    // itself, makes the next 1, 3, 7, ... 63 calls run alone; a call that was helped ends it.
    if (theirs == 0 || waited) {
        backoff_ = backoff_ < 6 ? backoff_ + 1 : 6;
        skip_ = (1u << backoff_) - 1;
    } else {
        backoff_ = 0;
    }
    busy_.store(false, std::memory_order_release);
}

// The pool of this process; replaced (the old one abandoned) in a forked child.
std::atomic<Pool*> g_pool{nullptr};
std::mutex& pool_mutex() {
    static std::mutex* mu = new std::mutex;  // never destroyed: workers may outlive statics
    return *mu;
}

Pool* pool() {
    Pool* p = g_pool.load(std::memory_order_acquire);
    if (p) return p;
    std::lock_guard<std::mutex> lock(pool_mutex());
    p = g_pool.load(std::memory_order_relaxed);
    if (!p) {
        p = new (std::nothrow) Pool;  // never deleted: detached workers use it until exit
        g_pool.store(p, std::memory_order_release);
    }
    return p;
}

int default_threads() {
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && n >= 1) return int(std::min<long>(n, kMaxThreads));
    }
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n >= 1) return std::min(n, kMaxThreads);
    }
#endif
    const unsigned n = std::thread::hardware_concurrency();
    return n ? int(std::min<unsigned>(n, kMaxThreads)) : 1;
}

std::atomic<int> g_threads{default_threads()};

// Elements per thread below which one more thread does not pay, per kind of work: the size
// at which two threads first beat one (python bench/bench_runtime.py knee, 2-core EPYC): a
// thread is woken in 5-50 us and must then have several times that much work.
std::atomic<std::size_t> g_grain[int(Work::kCount)] = {{65536}, {131072}, {32768}, {16384}};
std::atomic<std::size_t> g_grain_override{0};

#if defined(SIMDOPTIM_HAVE_ATFORK)
void in_forked_child() {
    // The parent's workers do not exist here; their pool (and any lock in it) is abandoned,
    // and a new pool starts its own workers on first use. A call that was running in
    // another thread of the parent does not exist here either.
    new (&pool_mutex()) std::mutex;
    g_pool.store(nullptr, std::memory_order_release);
}
const int g_atfork_registered = pthread_atfork(nullptr, nullptr, in_forked_child);
#endif

}  // namespace

void run_chunks(std::size_t width, std::size_t chunks, ChunkFn fn, void* ctx) {
    if (chunks == 0) return;
    if (width > chunks) width = chunks;
    if (width > std::size_t(kMaxThreads)) width = kMaxThreads;
    if (chunks > kMaxChunks) {
        // callers cap their chunks; a larger count is run as kMaxChunks groups
        struct Group {
            std::size_t chunks;
            ChunkFn fn;
            void* ctx;
        } g{chunks, fn, ctx};
        run_chunks(width, kMaxChunks, [](void* p, std::size_t slot, std::size_t c) {
            const Group& g = *static_cast<const Group*>(p);
            for (std::size_t i = g.chunks * c / kMaxChunks; i < g.chunks * (c + 1) / kMaxChunks; ++i) g.fn(g.ctx, slot, i);
        }, &g);
        return;
    }
    Pool* p = width > 1 && !t_in_worker ? pool() : nullptr;
    if (!p || !p->try_acquire()) {
        // one thread, or the pool is in use by another call (another Python thread's, or
        // one made from inside a chunk): this call runs alone, never waiting for the other
        if (p) g_inline_calls.fetch_add(1, std::memory_order_relaxed);
        for (std::size_t c = 0; c < chunks; ++c) fn(ctx, 0, c);
        return;
    }
    p->run(width, chunks, fn, ctx);  // releases the pool
}

const char* work_name(Work w) {
    switch (w) {
        case Work::kUpdate: return "update";
        case Work::kRead: return "read";
        case Work::kGather: return "gather";
        case Work::kScan: return "scan";
        default: return "?";
    }
}

int num_threads() { return g_threads.load(std::memory_order_relaxed); }
void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : (n > kMaxThreads ? kMaxThreads : n), std::memory_order_relaxed); }
std::size_t parallel_grain(Work w) {
    const std::size_t o = g_grain_override.load(std::memory_order_relaxed);
    return o ? o : g_grain[int(w)].load(std::memory_order_relaxed);
}
std::size_t parallel_grain_override() { return g_grain_override.load(std::memory_order_relaxed); }
void set_parallel_grain(std::size_t elements) { g_grain_override.store(elements, std::memory_order_relaxed); }
double spin_us() { return g_spin_us.load(std::memory_order_relaxed); }
void set_spin_us(double us) { g_spin_us.store(us < 0 ? 0 : us, std::memory_order_relaxed); }
int pool_workers() {
    Pool* p = g_pool.load(std::memory_order_acquire);
    return p ? p->workers() : 0;
}
unsigned long long backoff_calls() { return g_backoff_calls.load(std::memory_order_relaxed); }
unsigned long long inline_calls() { return g_inline_calls.load(std::memory_order_relaxed); }
void set_worker_delay_us(unsigned us) { g_worker_delay_us.store(us, std::memory_order_relaxed); }
unsigned long long worker_chunks() { return g_worker_chunks.load(std::memory_order_relaxed); }

}  // namespace runtime
}  // namespace simdoptim
