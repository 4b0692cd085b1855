// runtime_candidates.cpp - the parallel-for designs the kernels could run on, measured side
// by side on one and the same kernel (a float32 Adam step, 28 bytes per element):
//
//   omp-static   one OpenMP region, equal byte ranges per thread (simdoptim before its pool)
//   omp-dynamic  one OpenMP region, 4-64 chunks per thread claimed with schedule(dynamic)
//   tbb          oneTBB parallel_for in a task_arena of the same width, the same chunks
//   pool         simdoptim's pool (cpp/runtime/parallel.cpp), the same chunks
//
// Build and run with bench/runtime_candidates.sh (needs g++ with OpenMP, and the tbb-devel
// wheel for the tbb column). Modes:
//   idle           median us per call, sizes 1e4..1e7, 1 and 2 threads (interleaved rounds)
//   load N         Adam 1e6 with all threads while N busy processes run: p50 and p90 per design
//   burn GAP_US    CPU time the process uses per call when calls come GAP_US apart (idle spin)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(HAVE_TBB)
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#endif

#include "../cpp/runtime/parallel.h"

using Clock = std::chrono::steady_clock;
namespace rt = simdoptim::runtime;

struct Adam {
    float *w, *m, *v;
    const float* g;
    std::size_t n;
    void run(std::size_t b, std::size_t e) const {
        const float lr = 1e-6f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, c1 = 0.1f, c2 = 0.001f;
        for (std::size_t i = b; i < e; ++i) {
            m[i] = b1 * m[i] + c1 * g[i];
            v[i] = b2 * v[i] + c2 * g[i] * g[i];
            w[i] = w[i] - lr * m[i] / (std::sqrt(v[i]) + eps);
        }
    }
};

std::size_t chunks_for(std::size_t nt, std::size_t n) { return rt::chunks_for(nt, n * 4); }
std::size_t cut(std::size_t n, std::size_t parts, std::size_t i) { return (n / parts * i + n % parts * i / parts + 15) / 16 * 16; }

void omp_static(const Adam& a, int nt) {
#pragma omp parallel num_threads(nt)
    {
        const std::size_t t = omp_get_thread_num(), T = omp_get_num_threads();
        a.run(std::min(a.n, cut(a.n, T, t)), std::min(a.n, cut(a.n, T, t + 1)));
    }
}

void omp_dynamic(const Adam& a, int nt) {
    const long C = long(chunks_for(nt, a.n));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (long c = 0; c < C; ++c) a.run(std::min(a.n, cut(a.n, C, c)), std::min(a.n, cut(a.n, C, c + 1)));
}

#if defined(HAVE_TBB)
oneapi::tbb::task_arena* g_arena[64];
void tbb_for(const Adam& a, int nt) {
    const std::size_t C = chunks_for(nt, a.n);
    g_arena[nt]->execute([&] {
        oneapi::tbb::parallel_for(
            oneapi::tbb::blocked_range<std::size_t>(0, C, 1),
            [&](const oneapi::tbb::blocked_range<std::size_t>& r) {
                for (std::size_t c = r.begin(); c < r.end(); ++c) a.run(std::min(a.n, cut(a.n, C, c)), std::min(a.n, cut(a.n, C, c + 1)));
            },
            oneapi::tbb::simple_partitioner());
    });
}
#endif

void pool(const Adam& a, int nt) {
    const std::size_t C = chunks_for(nt, a.n);
    auto body = [&](std::size_t, std::size_t c) { a.run(std::min(a.n, cut(a.n, C, c)), std::min(a.n, cut(a.n, C, c + 1))); };
    rt::parallel_for_chunks(std::size_t(nt), C, body);
}

struct Design {
    const char* name;
    void (*fn)(const Adam&, int);
};
std::vector<Design> designs() {
    std::vector<Design> d = {{"omp-static", omp_static}, {"omp-dynamic", omp_dynamic}};
#if defined(HAVE_TBB)
    d.push_back({"tbb", tbb_for});
#endif
    d.push_back({"pool", pool});
    return d;
}

struct Buffers {
    std::vector<float> w, m, v, g;
    explicit Buffers(std::size_t n) : w(n, 1.f), m(n, 0.5f), v(n, 0.5f), g(n, 0.25f) {}
    Adam adam() { return {w.data(), m.data(), v.data(), g.data(), w.size()}; }
};

double seconds(const std::function<void()>& f) {
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double pct(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, std::size_t(q * (v.size() - 1) + 0.5))];
}

std::vector<pid_t> start_busy(int n) {
    std::vector<pid_t> pids;
    for (int i = 0; i < n; ++i) {
        const pid_t p = fork();
        if (p == 0) {
            volatile double x = 1;
            for (;;) x = x * 1.0000001 + 1e-9;
        }
        pids.push_back(p);
    }
    return pids;
}
void stop_busy(const std::vector<pid_t>& pids) {
    for (pid_t p : pids) kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
}

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "idle";
    const int nmax = int(std::thread::hardware_concurrency());
    rt::set_num_threads(nmax);
#if defined(HAVE_TBB)
    oneapi::tbb::global_control gc(oneapi::tbb::global_control::max_allowed_parallelism, nmax);
    for (int t = 1; t <= nmax && t < 64; ++t) g_arena[t] = new oneapi::tbb::task_arena(t, 1);
#endif
    const auto ds = designs();
    if (mode == "idle") {
        std::printf("| size | thr |");
        for (auto& d : ds) std::printf(" %s us |", d.name);
        std::printf("\n|---|---|%s\n", std::string(ds.size() * 4, '-').c_str());
        for (std::size_t n : {std::size_t(10000), std::size_t(100000), std::size_t(1000000), std::size_t(10000000)}) {
            Buffers buf(n);
            const Adam a = buf.adam();
            const int reps = n >= 10000000 ? 20 : (n >= 1000000 ? 200 : 2000);
            for (int nt : {1, nmax}) {
                std::vector<std::vector<double>> t(ds.size());
                for (int r = 0; r < 15; ++r)
                    for (std::size_t k = 0; k < ds.size(); ++k) {
                        const std::size_t i = (k + r) % ds.size();
                        ds[i].fn(a, nt);
                        t[i].push_back(seconds([&] { for (int j = 0; j < reps; ++j) ds[i].fn(a, nt); }) / reps);
                    }
                std::printf("| %.0e | %d |", double(n), nt);
                for (auto& v : t) std::printf(" %.1f |", pct(v, 0.5) * 1e6);
                std::printf("\n");
            }
        }
    } else if (mode == "load") {
        const int busy = argc > 2 ? std::atoi(argv[2]) : 1;
        Buffers buf(1000000);
        const Adam a = buf.adam();
        std::vector<double> idle1;
        for (int r = 0; r < 300; ++r) idle1.push_back(seconds([&] { a.run(0, a.n); }));
        const auto pids = start_busy(busy);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::vector<std::vector<double>> t(ds.size() + 1);
        for (int r = 0; r < 40; ++r)
            for (std::size_t k = 0; k <= ds.size(); ++k)
                for (int j = 0; j < 25; ++j) {
                    if (k == ds.size())
                        t[k].push_back(seconds([&] { a.run(0, a.n); }));
                    else
                        t[k].push_back(seconds([&] { ds[k].fn(a, nmax); }));
                }
        stop_busy(pids);
        std::printf("Adam 1e6 float32, %d threads, %d busy processes; idle 1-thread median %.0f us\n", nmax, busy,
                    pct(idle1, 0.5) * 1e6);
        std::printf("| design | p50 us | p90 us | p99 us | p90 / idle 1-thread |\n|---|---|---|---|---|\n");
        for (std::size_t k = 0; k <= ds.size(); ++k)
            std::printf("| %s | %.0f | %.0f | %.0f | %.2fx |\n", k == ds.size() ? "1 thread" : ds[k].name, pct(t[k], 0.5) * 1e6,
                        pct(t[k], 0.9) * 1e6, pct(t[k], 0.99) * 1e6, pct(t[k], 0.9) / pct(idle1, 0.5));
    } else if (mode == "burn") {
        const double gap_us = argc > 2 ? std::atof(argv[2]) : 1000;
        Buffers buf(1000000);
        const Adam a = buf.adam();
        std::printf("Adam 1e6, %d threads, a call every %.0f us of sleep: CPU ms used per call (the call itself is "
                    "about the 1-thread time)\n| design | CPU ms / call | wall ms / call |\n|---|---|---|\n", nmax, gap_us);
        for (auto& d : ds) {
            for (int j = 0; j < 20; ++j) d.fn(a, nmax);
            rusage r0, r1;
            getrusage(RUSAGE_SELF, &r0);
            const int calls = 300;
            const double wall = seconds([&] {
                for (int j = 0; j < calls; ++j) {
                    d.fn(a, nmax);
                    std::this_thread::sleep_for(std::chrono::microseconds(long(gap_us)));
                }
            });
            getrusage(RUSAGE_SELF, &r1);
            auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
            const double cpu = sec(r1.ru_utime) - sec(r0.ru_utime) + sec(r1.ru_stime) - sec(r0.ru_stime);
            std::printf("| %s | %.3f | %.3f |\n", d.name, cpu / calls * 1e3, wall / calls * 1e3);
        }
    }
    return 0;
}
