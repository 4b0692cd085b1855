// checks.cpp - argument validation shared by every binding. See checks.h.
#include "checks.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace simdoptim {
namespace bindings {

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

std::string shape_str(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    if (a.ndim() == 1) s += ",";
    return s + ")";
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()); }

void type_error(const std::string& func, const std::string& msg) { throw py::type_error(func + ": " + msg); }
void value_error(const std::string& func, const std::string& msg) { throw py::value_error(func + ": " + msg); }

std::string Labels::operator()(const char* arg, std::size_t i) const {
    std::string out = arg;
    if (!keys || keys.is_none()) return out + "[" + std::to_string(i) + "]";
    py::object key = py::reinterpret_borrow<py::sequence>(keys)[i];
    if (py::isinstance<py::tuple>(key)) {
        for (py::handle k : py::reinterpret_borrow<py::tuple>(key)) out += "[" + std::string(py::repr(k)) + "]";
        return out;
    }
    return out + "[" + std::string(py::repr(key)) + "]";
}

py::sequence require_list(const std::string& func, const char* arg, py::handle obj) {
    if (!PyList_Check(obj.ptr()) && !PyTuple_Check(obj.ptr()))
        type_error(func, std::string(arg) + " must be a list or tuple of numpy arrays, got " + type_name(obj));
    return py::reinterpret_borrow<py::sequence>(obj);
}

DType dtype_of(const py::dtype& dt) {
    if (dt.byteorder() == '>') return kNoDType;
    switch (dt.num()) {
        case py::detail::npy_api::NPY_FLOAT_: return kFloat32;
        case py::detail::npy_api::NPY_DOUBLE_: return kFloat64;
        case 23 /* NPY_HALF */: return kFloat16;
        default: break;
    }
    // ml_dtypes registers bfloat16 as a user dtype; recognise it by name and size
    if (dt.itemsize() == 2 && dt.kind() == 'V' && std::string(py::str(dt.attr("name"))) == "bfloat16") return kBFloat16;
    return kNoDType;
}

const char* dtype_name(DType d) {
    switch (d) {
        case kFloat32: return "float32";
        case kFloat64: return "float64";
        case kBFloat16: return "bfloat16";
        case kFloat16: return "float16";
        default: return "?";
    }
}

bool is_c_contig(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }
bool is_f_contig(const py::array& a) { return (a.flags() & py::array::f_style) != 0; }
bool is_aligned(const py::array& a) { return (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0; }

Span span_of(const py::array& a) {
    if (a.size() == 0) return {};
    auto lo = reinterpret_cast<std::intptr_t>(a.data());
    auto hi = lo;
    for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        const std::intptr_t ext = std::intptr_t(a.shape(d) - 1) * std::intptr_t(a.strides(d));
        (ext < 0 ? lo : hi) += ext;
    }
    return {std::uintptr_t(lo), std::uintptr_t(hi) + std::uintptr_t(a.itemsize())};
}

void check_no_overlap(const std::string& func, const Labels& labels, std::vector<Interval>& iv) {
    std::sort(iv.begin(), iv.end(), [](const Interval& a, const Interval& b) { return a.span.lo < b.span.lo; });
    for (std::size_t i = 0; i < iv.size(); ++i) {
        for (std::size_t j = i + 1; j < iv.size() && iv[j].span.lo < iv[i].span.hi; ++j) {
            if (!iv[i].written && !iv[j].written) continue;
            const Interval& a = iv[i].written ? iv[i] : iv[j];
            const Interval& b = iv[i].written ? iv[j] : iv[i];
            const bool same = a.span.lo == b.span.lo && a.span.hi == b.span.hi;
            value_error(func, labels(a.arg, a.index) + (same ? " is the same memory as " : " overlaps ") +
                                  labels(b.arg, b.index) + (same ? "; " : " in memory; ") + kOverlapAdvice);
        }
    }
}

namespace {
std::atomic<bool> g_gil_released_last{false};

// numbers.Real / numbers.Integral, looked up once and deliberately never released (a static
// py::object would be destroyed after the interpreter is gone)
bool is_instance_of_abc(py::handle obj, PyObject* abc) {
    if (PyBool_Check(obj.ptr())) return false;
    const int r = PyObject_IsInstance(obj.ptr(), abc);
    if (r < 0) PyErr_Clear();
    return r == 1;
}
PyObject* numbers_abc(const char* name) { return py::object(py::module_::import("numbers").attr(name)).release().ptr(); }

struct Binding {
    const char* name;
    BindingFn fn;
};
std::vector<Binding>& bindings_list() {
    static std::vector<Binding> list;
    return list;
}
}  // namespace

bool is_flag(py::handle obj) {
    if (PyBool_Check(obj.ptr())) return true;
    static PyObject* const np_bool = py::object(py::module_::import("numpy").attr("bool_")).release().ptr();
    return PyObject_TypeCheck(obj.ptr(), reinterpret_cast<PyTypeObject*>(np_bool)) != 0;
}
bool is_real_number(py::handle obj) {
    static PyObject* const real = numbers_abc("Real");
    return is_instance_of_abc(obj, real);
}
bool is_integral_number(py::handle obj) {
    static PyObject* const integral = numbers_abc("Integral");
    return is_instance_of_abc(obj, integral);
}

void record_gil_state() { g_gil_released_last.store(PyGILState_Check() == 0, std::memory_order_relaxed); }
bool gil_released_last() { return g_gil_released_last.exchange(false, std::memory_order_relaxed); }

int add_binding(const char* name, BindingFn fn) noexcept {
    try {
        bindings_list().push_back({name, fn});
    } catch (...) {
        return 0;
    }
    return 1;
}

void bind_all(py::module_& m) {
    auto list = bindings_list();
    std::sort(list.begin(), list.end(), [](const Binding& a, const Binding& b) { return std::strcmp(a.name, b.name) < 0; });
    for (const Binding& b : list) b.fn(m);
}

}  // namespace bindings
}  // namespace simdoptim
