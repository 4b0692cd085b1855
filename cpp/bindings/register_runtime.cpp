// register_runtime.cpp - introspection and control: which ISA path runs, threads, and the
// all-finite check used to skip steps with NaN/Inf gradients.
#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"
#include "register.h"

#include <pybind11/stl.h>

#include <atomic>

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
    d["openmp"] = runtime::has_openmp();
    d["num_threads"] = runtime::num_threads();
    d["parallel_grain"] = runtime::parallel_grain();
    d["single_threaded_after_fork"] = runtime::single_threaded_after_fork();
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

// True when no array of the list holds a NaN or an infinity. One parallel pass, GIL released.
bool all_finite(py::object arrays) {
    const Context ctx{"all_finite", py::none()};
    py::sequence seq = require_list(ctx, "arrays", arrays);
    Slots slots;  // holds the arrays too: see Slots in checks.h
    slots.resize(py::len(seq));
    for (std::size_t i = 0; i < slots.size(); ++i) {
        py::handle h = seq[i];
        if (!py::isinstance<py::array>(h)) throw py::type_error("all_finite: arrays[" + std::to_string(i) + "] must be a numpy.ndarray");
        py::array a = py::reinterpret_borrow<py::array>(h);
        const int num = a.dtype().num();
        if ((num != py::detail::npy_api::NPY_FLOAT_ && num != py::detail::npy_api::NPY_DOUBLE_) || a.dtype().byteorder() == '>')
            throw py::type_error("all_finite: arrays[" + std::to_string(i) + "] must be a float32 or float64 array (native byte order)");
        if (!(a.flags() & (py::array::c_style | py::array::f_style)) || !(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
            throw py::value_error("all_finite: arrays[" + std::to_string(i) + "] must be contiguous (C or Fortran order) and aligned");
        slots.keep_alive.push_back(a);
        slots[i].param = const_cast<void*>(a.data());
        slots[i].n = std::size_t(a.size());
        slots[i].dtype = dtype_of(a);
    }
    auto f32 = runtime::kernels().all_finite[kFloat32], f64 = runtime::kernels().all_finite[kFloat64];
    std::atomic<bool> ok{true};
    ReleasedGIL nogil;
    runtime::for_each_slot_range(slots.data(), slots.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
        if (!(s.dtype == kFloat64 ? f64 : f32)(s.param, b, e)) ok.store(false, std::memory_order_relaxed);
    });
    return ok.load();
}

}  // namespace

void register_runtime(py::module_& m) {
    using namespace py::literals;
    m.def("cpu_info", &cpu_info,
          "What runs here: isa (the active path), isas (paths this CPU can run), compiled_isas, "
          "cpu_features, openmp, num_threads, parallel_grain.");
    m.def("get_num_threads", &runtime::num_threads, "Threads the kernels use (default: OpenMP's, i.e. OMP_NUM_THREADS).");
    m.def("set_num_threads", &set_num_threads, "n"_a, "Sets the number of threads the kernels use (>= 1).");
    m.def("all_finite", &all_finite, "arrays"_a, "True when no array in the list holds NaN or +-inf.");
    // private: used by the tests to run every path and force threading on small arrays
    m.def("_select_isa", &runtime::select_isa, "name"_a);
    m.def("_set_parallel_grain", &runtime::set_parallel_grain, "elements"_a);
    m.def("_gil_released_last", &gil_released_last,
          "Whether the last kernel call released the GIL before running (tests only).");
}

}  // namespace bindings
}  // namespace simdoptim
