// dispatch.cpp - the kernel registry, CPU feature detection and the choice of path.
//
// Compiled with baseline flags only. Every kernel source, compiled once per ISA, hands its
// constant table of entry points to register_kernels while the extension loads; this file
// keeps one list per ISA and answers lookups on the active one. A path is runnable when the
// CPU reports its instructions AND the OS saves the wider registers (XGETBV), which GCC's
// __builtin_cpu_supports checks for the AVX and AVX-512 states.
#include "dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace simdoptim {
namespace runtime {
namespace {

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
    bool (*runnable)();
};

// narrowest first; the index is the path's id
constexpr int kNumPaths = 3;
const Path kPaths[kNumPaths] = {
    {"baseline", [] { return true; }},
    {"avx2", [] { return cpu_has("avx2") && cpu_has("fma"); }},
    {"avx512", [] { return cpu_has("avx512f") && cpu_has("avx512bw") && cpu_has("avx512dq") && cpu_has("avx512vl"); }},
};

struct Table {
    const KernelEntry* entries;
    std::size_t count;
};

// Filled while the extension loads (static initialisation of the kernel objects), read-only
// afterwards. A function-local static, so it exists before the first registration.
std::vector<Table>* registry() {
    static std::vector<Table> tables[kNumPaths];
    return tables;
}

// The entries of each path grouped by name, built once by init_dispatch (after every
// registration): a lookup is one hash and a scan of a name's few dtype variants.
std::unordered_map<std::string, std::vector<const KernelEntry*>>* by_name() {
    static std::unordered_map<std::string, std::vector<const KernelEntry*>> maps[kNumPaths];
    return maps;
}

void build_index() {
    for (int id = 0; id < kNumPaths; ++id) {
        by_name()[id].clear();
        for (const Table& t : registry()[id])
            for (std::size_t i = 0; i < t.count; ++i) by_name()[id][t.entries[i].name].push_back(&t.entries[i]);
    }
}

int path_id(const char* name) {
    for (int i = 0; i < kNumPaths; ++i)
        if (std::strcmp(kPaths[i].name, name) == 0) return i;
    return -1;
}

std::atomic<int> g_active{0};
std::atomic<unsigned> g_generation{0};

bool compiled(int id) { return !registry()[id].empty(); }

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

}  // namespace

const std::vector<const KernelEntry*>& kernels_named(const std::string& name) {
    static const std::vector<const KernelEntry*> none;
    const auto& map = by_name()[g_active.load(std::memory_order_relaxed)];
    auto it = map.find(name);
    return it == map.end() ? none : it->second;
}

const KernelEntry* find_kernel(const char* name, DTypes dtypes, int variant) {
    for (const KernelEntry* e : kernels_named(name))
        if (e->variant == variant && e->dtypes == dtypes) return e;
    return nullptr;
}

unsigned isa_generation() { return g_generation.load(std::memory_order_acquire); }

std::vector<std::string> compiled_isas() {
    std::vector<std::string> out;
    for (int i = 0; i < kNumPaths; ++i)
        if (compiled(i)) out.push_back(kPaths[i].name);
    return out;
}

std::vector<std::string> available_isas() {
    std::vector<std::string> out;
    for (int i = 0; i < kNumPaths; ++i)
        if (compiled(i) && kPaths[i].runnable()) out.push_back(kPaths[i].name);
    return out;
}

std::vector<std::pair<std::string, bool>> cpu_features() {
    std::vector<std::pair<std::string, bool>> out;
    for (const char* f : {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"})
        out.emplace_back(f, cpu_has(f));
    return out;
}

void select_isa(const std::string& name) {
    const int id = path_id(name.c_str());
    if (id < 0)
        throw std::invalid_argument("SIMDOPTIM_ISA='" + name + "' is not a known path; expected one of " +
                                    join(compiled_isas()));
    if (!compiled(id))
        throw std::invalid_argument("SIMDOPTIM_ISA='" + name + "': this build of simdoptim has no " + name +
                                    " path (compiled: " + join(compiled_isas()) + ")");
    if (!kPaths[id].runnable())
        throw std::invalid_argument("SIMDOPTIM_ISA='" + name + "': this CPU cannot run the " + name +
                                    " path (available: " + join(available_isas()) + ")");
    g_active.store(id, std::memory_order_relaxed);
    g_generation.fetch_add(1, std::memory_order_acq_rel);
}

std::string active_isa() { return kPaths[g_active.load(std::memory_order_relaxed)].name; }

void init_dispatch() {
    build_index();
    const char* forced = std::getenv("SIMDOPTIM_ISA");
    if (forced && *forced) {
        select_isa(forced);
        return;
    }
    select_isa(available_isas().back());
}

}  // namespace runtime

int register_kernels(const char* isa, const KernelEntry* entries, std::size_t count) noexcept {
    const int id = runtime::path_id(isa);
    if (id < 0) return 0;  // a path this file does not know: never selected
    try {
        runtime::registry()[id].push_back({entries, count});
    } catch (...) {
        return 0;  // out of memory while loading: the path then looks uncompiled
    }
    return 1;
}

}  // namespace simdoptim
