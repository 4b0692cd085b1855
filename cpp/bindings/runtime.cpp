// runtime.cpp - introspection and control: which ISA path runs, and how many threads.
#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <tuple>


namespace simdoptim {
namespace bindings {
namespace {

py::dict cpu_info() {
    py::dict d;
    d["isa"] = runtime::active_isa();
    d["isas"] = runtime::available_isas();
    d["compiled_isas"] = runtime::compiled_isas();
    py::dict feats;
    for (const auto& f : runtime::cpu_features()) feats[py::str(f.first)] = f.second;
    d["cpu_features"] = feats;
    d["threading"] = "simdoptim pool";
    d["num_threads"] = runtime::num_threads();
    d["pool_workers"] = runtime::pool_workers();
    d["parallel_grain"] = runtime::parallel_grain_override();
    py::dict grains;
    for (int w = 0; w < int(runtime::Work::kCount); ++w)
        grains[runtime::work_name(runtime::Work(w))] = runtime::parallel_grain(runtime::Work(w));
    d["parallel_grains"] = grains;
    d["spin_us"] = runtime::spin_us();
    return d;
}

void set_num_threads(py::object n) {
    // any integer (int, numpy integers: whatever has __index__), never bool
    if (PyBool_Check(n.ptr()) || PyObject_TypeCheck(n.ptr(), &PyFloat_Type) || !PyIndex_Check(n.ptr()))
        throw py::type_error("set_num_threads: n must be an int between 1 and 4096, got " +
                             std::string(py::str(py::type::handle_of(n).attr("__name__"))));
    py::int_ value = py::reinterpret_steal<py::int_>(PyNumber_Index(n.ptr()));
    if (!value) throw py::error_already_set();
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow || v < 1 || v > 4096)
        throw py::value_error("set_num_threads: n must be an int between 1 and 4096, got " + std::string(py::str(value)));
    runtime::set_num_threads(int(v));
}

// Tests: the ranges for_each_slot_range hands out for tensors of these sizes, itemsize and
// byte offsets from a 64-byte line, with `threads` threads: (counts, ranges) where counts[i]
// is an array of how often each element of tensor i was visited and ranges lists the
// (tensor, begin, end, thread slot is not the caller) triples.
py::tuple cover(std::vector<std::size_t> sizes, int itemsize, std::vector<std::size_t> offsets, int threads) {
    if (itemsize != 4 && itemsize != 8) throw py::value_error("itemsize must be 4 or 8");
    if (offsets.size() != sizes.size()) throw py::value_error("one offset per size");
    std::vector<std::vector<std::atomic<std::uint32_t>>> counts;
    std::vector<std::unique_ptr<char[]>> memory;
    std::vector<Slot> slots(sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        counts.emplace_back(sizes[i]);
        memory.emplace_back(new char[sizes[i] * std::size_t(itemsize) + 128]);
        auto base = (reinterpret_cast<std::uintptr_t>(memory.back().get()) + 63) & ~std::uintptr_t(63);
        slots[i].param = reinterpret_cast<void*>(base + offsets[i] % 64 / std::size_t(itemsize) * std::size_t(itemsize));
        slots[i].n = sizes[i];
        slots[i].param_dtype = itemsize == 8 ? kFloat64 : kFloat32;
        slots[i].index = std::uint32_t(i);
    }
    std::mutex mu;
    std::vector<std::tuple<std::size_t, std::size_t, std::size_t, std::uintptr_t>> ranges;
    const int before = runtime::num_threads();
    runtime::set_num_threads(threads);
    {
        ReleasedGIL nogil;
        runtime::for_each_slot_range(slots.data(), slots.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
            for (std::size_t j = b; j < e; ++j) counts[s.index][j].fetch_add(1, std::memory_order_relaxed);
            std::lock_guard<std::mutex> lock(mu);
            ranges.emplace_back(s.index, b, e, reinterpret_cast<std::uintptr_t>(s.param) + b * std::size_t(itemsize));
        });
    }
    runtime::set_num_threads(before);
    py::list out_counts, out_ranges;
    for (auto& c : counts) {
        py::array_t<std::uint32_t> a(py::ssize_t(c.size()));
        for (std::size_t j = 0; j < c.size(); ++j) a.mutable_at(py::ssize_t(j)) = c[j].load();
        out_counts.append(a);
    }
    for (auto& r : ranges) out_ranges.append(py::make_tuple(std::get<0>(r), std::get<1>(r), std::get<2>(r), std::get<3>(r) % 64));
    return py::make_tuple(out_counts, out_ranges);
}

}  // namespace

SIMDOPTIM_BINDING(runtime) {
    using namespace py::literals;
    m.def("cpu_info", &cpu_info,
          "What runs here: isa (the active path), isas (paths this CPU can run), compiled_isas, "
          "cpu_features, threading (the thread pool), num_threads, pool_workers (threads started so far), "
          "parallel_grain (a test override, 0 when none), parallel_grains (elements per thread below which no "
          "further thread is used, per kind of work: update, read, gather, scan), spin_us (how long an idle "
          "worker spins before it sleeps).");
    m.def("get_num_threads", &runtime::num_threads,
          "Threads the kernels use: the caller and up to n - 1 pool workers (default: OMP_NUM_THREADS when set, "
          "else the CPUs this process may run on).");
    m.def("set_num_threads", &set_num_threads, "n"_a, "Sets the number of threads the kernels use (>= 1).");
    // private: used by the tests to run every path and force threading on small arrays
    m.def("_select_isa", &runtime::select_isa, "name"_a);
    m.def("_set_parallel_grain", &runtime::set_parallel_grain, "elements"_a,
          "One grain (elements per thread) for every kind of work; 0 restores the measured grains.");
    m.def("_cover", &cover, "sizes"_a, "itemsize"_a, "offsets"_a, "threads"_a,
          "Tests: how the runtime cuts tensors of these sizes into ranges (see runtime.cpp).");
    m.def("_set_worker_delay_us", &runtime::set_worker_delay_us, "us"_a,
          "Tests: every pool worker sleeps this long after waking before it looks for work.");
    m.def("_set_spin_us", &runtime::set_spin_us, "us"_a, "How long an idle worker spins before it sleeps (benchmarks).");
    m.def("_runtime_counters", [] {
        py::dict d;
        d["inline_calls"] = runtime::inline_calls();
        d["worker_chunks"] = runtime::worker_chunks();
        d["backoff_calls"] = runtime::backoff_calls();
        d["pool_workers"] = runtime::pool_workers();
        return d;
    }, "Private (tests): calls that ran alone because the pool was busy, chunks run by pool workers.");
    m.def("_gil_released_last", &gil_released_last,
          "Whether the last kernel call released the GIL before running (tests only).");
}

}  // namespace bindings
}  // namespace simdoptim
