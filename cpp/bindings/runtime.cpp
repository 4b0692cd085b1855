// runtime.cpp - introspection and control: which ISA path runs, and how many threads.
#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"

#include <pybind11/stl.h>


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

}  // namespace

SIMDOPTIM_BINDING(runtime) {
    using namespace py::literals;
    m.def("cpu_info", &cpu_info,
          "What runs here: isa (the active path), isas (paths this CPU can run), compiled_isas, "
          "cpu_features, openmp, num_threads, parallel_grain.");
    m.def("get_num_threads", &runtime::num_threads, "Threads the kernels use (default: OpenMP's, i.e. OMP_NUM_THREADS).");
    m.def("set_num_threads", &set_num_threads, "n"_a, "Sets the number of threads the kernels use (>= 1).");
    // private: used by the tests to run every path and force threading on small arrays
    m.def("_select_isa", &runtime::select_isa, "name"_a);
    m.def("_set_parallel_grain", &runtime::set_parallel_grain, "elements"_a);
    m.def("_gil_released_last", &gil_released_last,
          "Whether the last kernel call released the GIL before running (tests only).");
}

}  // namespace bindings
}  // namespace simdoptim
