// dispatch.cpp - CPU feature detection and the choice of kernel table.
//
// Compiled with baseline flags only. A path is runnable when the CPU reports its
// instructions AND the OS saves the wider registers (XGETBV), which GCC's
// __builtin_cpu_supports checks for the AVX and AVX-512 states.
#include "dispatch.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace simdoptim {

#if !defined(SIMDOPTIM_HAVE_AVX2)
const KernelTable* kernel_table_avx2() { return nullptr; }
#endif
#if !defined(SIMDOPTIM_HAVE_AVX512)
const KernelTable* kernel_table_avx512() { return nullptr; }
#endif

namespace runtime {
namespace {

std::atomic<const KernelTable*> g_active{nullptr};

bool cpu_has(const char* feature) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const std::string f = feature;
    if (f == "avx2") return __builtin_cpu_supports("avx2");
    if (f == "fma") return __builtin_cpu_supports("fma");
    if (f == "avx512f") return __builtin_cpu_supports("avx512f");
    if (f == "avx512bw") return __builtin_cpu_supports("avx512bw");
    if (f == "avx512dq") return __builtin_cpu_supports("avx512dq");
    if (f == "avx512vl") return __builtin_cpu_supports("avx512vl");
    return false;
#else
    (void)feature;
    return false;
#endif
}

struct Path {
    const char* name;
    const KernelTable* (*table)();
    bool (*runnable)();
};

const Path kPaths[] = {
    {"baseline", kernel_table_baseline, [] { return true; }},
    {"avx2", kernel_table_avx2, [] { return cpu_has("avx2") && cpu_has("fma"); }},
    {"avx512", kernel_table_avx512,
     [] { return cpu_has("avx512f") && cpu_has("avx512bw") && cpu_has("avx512dq") && cpu_has("avx512vl"); }},
};

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

}  // namespace

const KernelTable& kernels() { return *g_active.load(std::memory_order_relaxed); }

std::vector<std::string> compiled_isas() {
    std::vector<std::string> out;
    for (const auto& p : kPaths)
        if (p.table()) out.push_back(p.name);
    return out;
}

std::vector<std::string> available_isas() {
    std::vector<std::string> out;
    for (const auto& p : kPaths)
        if (p.table() && p.runnable()) out.push_back(p.name);
    return out;
}

std::vector<std::pair<std::string, bool>> cpu_features() {
    std::vector<std::pair<std::string, bool>> out;
    for (const char* f : {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"})
        out.emplace_back(f, cpu_has(f));
    return out;
}

void select_isa(const std::string& name) {
    for (const auto& p : kPaths) {
        if (name != p.name) continue;
        if (!p.table())
            throw std::invalid_argument("SIMDOPTIM_ISA='" + name + "': this build of simdoptim has no " + name +
                                        " path (compiled: " + join(compiled_isas()) + ")");
        if (!p.runnable())
            throw std::invalid_argument("SIMDOPTIM_ISA='" + name + "': this CPU cannot run the " + name +
                                        " path (available: " + join(available_isas()) + ")");
        g_active.store(p.table(), std::memory_order_relaxed);
        return;
    }
    throw std::invalid_argument("SIMDOPTIM_ISA='" + name + "' is not a known path; expected one of " +
                                join(compiled_isas()));
}

std::string active_isa() { return kernels().isa; }

void init_dispatch() {
    const char* forced = std::getenv("SIMDOPTIM_ISA");
    if (forced && *forced) {
        select_isa(forced);
        return;
    }
    g_active.store(kernel_table_baseline(), std::memory_order_relaxed);
    const auto avail = available_isas();
    select_isa(avail.back());
}

}  // namespace runtime
}  // namespace simdoptim
