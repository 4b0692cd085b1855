// checks.cpp - argument validation shared by every binding. See checks.h.
#include "checks.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>

namespace simdoptim {
namespace bindings {
namespace {

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

std::string shape_str(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    if (a.ndim() == 1) s += ",";
    return s + ")";
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()); }

bool is_c_contig(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }
bool is_f_contig(const py::array& a) { return (a.flags() & py::array::f_style) != 0; }

std::string fmt(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

[[noreturn]] void type_error(const Context& ctx, const std::string& msg) {
    throw py::type_error(std::string(ctx.func) + ": " + msg);
}
[[noreturn]] void value_error(const Context& ctx, const std::string& msg) {
    throw py::value_error(std::string(ctx.func) + ": " + msg);
}

py::array require_array(const Context& ctx, py::handle obj, const char* arg, std::size_t i) {
    if (!py::isinstance<py::array>(obj))
        type_error(ctx, ctx.label(arg, i) + " must be a numpy.ndarray, got " + type_name(obj));
    return py::reinterpret_borrow<py::array>(obj);
}

// float32 / float64, native byte order, aligned, contiguous
void require_float_buffer(const Context& ctx, const py::array& a, const char* arg, std::size_t i) {
    const py::dtype dt = a.dtype();
    const int num = dt.num();
    if (num != py::detail::npy_api::NPY_FLOAT_ && num != py::detail::npy_api::NPY_DOUBLE_)
        type_error(ctx, ctx.label(arg, i) + " has dtype " + dtype_str(a) + "; expected float32 or float64");
    if (dt.byteorder() == '>')
        type_error(ctx, ctx.label(arg, i) + " has non-native byte order (" + dtype_str(a) +
                            "); convert it with .astype(" + (num == py::detail::npy_api::NPY_FLOAT_ ? "np.float32" : "np.float64") + ")");
    if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        value_error(ctx, ctx.label(arg, i) + " is not aligned to its element size; pass an aligned copy");
    if (!is_c_contig(a) && !is_f_contig(a))
        value_error(ctx, ctx.label(arg, i) + " must be contiguous (C or Fortran order) so it can be updated in place; got strides " +
                             std::string(py::str(a.attr("strides"))) + " for shape " + shape_str(a) +
                             ". Keep the contiguous base array as the parameter, or pass np.ascontiguousarray(...) and keep that copy");
}

std::atomic<bool> g_gil_released_last{false};

}  // namespace

namespace {
// numbers.Real / numbers.Integral, looked up once and deliberately never released (a static
// py::object would be destroyed after the interpreter is gone)
bool is_instance_of_abc(py::handle obj, PyObject* abc) {
    if (PyBool_Check(obj.ptr())) return false;
    const int r = PyObject_IsInstance(obj.ptr(), abc);
    if (r < 0) PyErr_Clear();
    return r == 1;
}
PyObject* numbers_abc(const char* name) { return py::object(py::module_::import("numbers").attr(name)).release().ptr(); }
}  // namespace

bool is_flag(py::handle obj) {
    if (PyBool_Check(obj.ptr())) return true;
    // looked up once and never released, like the numbers ABCs above
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

std::string Context::label(const char* arg, std::size_t i) const {
    if (names.is_none() || !names) return std::string(arg) + "[" + std::to_string(i) + "]";
    py::sequence seq = py::reinterpret_borrow<py::sequence>(names);
    return std::string(arg) + "[" + std::string(py::repr(seq[i])) + "]";
}

DType dtype_of(const py::array& a) {
    return a.dtype().num() == py::detail::npy_api::NPY_DOUBLE_ ? kFloat64 : kFloat32;
}

py::sequence require_list(const Context& ctx, const char* arg, py::handle obj) {
    if (!PyList_Check(obj.ptr()) && !PyTuple_Check(obj.ptr()))
        type_error(ctx, std::string(arg) + " must be a list or tuple of numpy arrays, got " + type_name(obj));
    return py::reinterpret_borrow<py::sequence>(obj);
}

void check_range(const Context& ctx, const char* name, double x, double lo, double hi, bool hi_inclusive) {
    const bool ok = x >= lo && (hi_inclusive ? x <= hi : x < hi);
    if (ok) return;
    std::string range = std::isinf(hi) ? ">= " + fmt(lo) : "in [" + fmt(lo) + ", " + fmt(hi) + (hi_inclusive ? "]" : ")");
    value_error(ctx, std::string(name) + " must be " + range + ", got " + fmt(x));
}

void check_finite_nonnegative(const Context& ctx, const char* name, double x) {
    if (std::isfinite(x) && x >= 0) return;
    value_error(ctx, std::string(name) + " must be a finite number >= 0, got " + fmt(x));
}

void check_no_overlap(const Context& ctx, std::vector<Interval>& iv) {
    std::sort(iv.begin(), iv.end(), [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
    for (std::size_t i = 0; i < iv.size(); ++i) {
        for (std::size_t j = i + 1; j < iv.size() && iv[j].lo < iv[i].hi; ++j) {
            if (!iv[i].written && !iv[j].written) continue;
            const Interval& a = iv[i].written ? iv[i] : iv[j];
            const Interval& b = iv[i].written ? iv[j] : iv[i];
            const bool same = a.lo == b.lo && a.hi == b.hi;
            value_error(ctx, ctx.label(a.arg, a.index) + (same ? " is the same memory as " : " overlaps ") +
                                 ctx.label(b.arg, b.index) + " in memory; every buffer that is updated in place must "
                                 "be a separate array (pass a copy, e.g. grads[i].copy())");
        }
    }
}

Slots collect_slots(const Context& ctx, py::handle params_obj, py::handle grads_obj,
                                std::initializer_list<StateArg> states, const char* grads_name,
                                const char* params_name) {
    py::sequence params = require_list(ctx, params_name, params_obj);
    py::sequence grads = require_list(ctx, grads_name, grads_obj);
    const std::size_t n = py::len(params);
    if (py::len(grads) != n)
        value_error(ctx, std::string(grads_name) + " has " + std::to_string(py::len(grads)) + " arrays but " + params_name +
                             " has " + std::to_string(n) + "; pass one per parameter");
    std::vector<py::sequence> state_lists;
    std::vector<const char*> state_names;
    std::vector<std::size_t> state_slots;  // which Slot::state entry each list fills
    std::size_t position = 0;
    for (const StateArg& st : states) {
        const std::size_t k = position++;
        if (!st.items || st.items.is_none()) continue;
        py::sequence seq = require_list(ctx, st.name, st.items);
        if (py::len(seq) != n)
            value_error(ctx, std::string(st.name) + " has " + std::to_string(py::len(seq)) + " arrays but " + params_name +
                                 " has " + std::to_string(n));
        state_lists.push_back(seq);
        state_names.push_back(st.name);
        state_slots.push_back(k);
    }
    if (!ctx.names.is_none() && ctx.names && py::len(ctx.names) != n)
        throw py::value_error(std::string(ctx.func) + ": names has " + std::to_string(py::len(ctx.names)) +
                              " entries but params has " + std::to_string(n));

    Slots slots;
    slots.resize(n);
    slots.keep_alive.reserve(n * (2 + state_lists.size()));
    std::vector<Interval> intervals;
    intervals.reserve(n * (2 + state_lists.size()));
    auto add_interval = [&](const py::array& a, bool written, const char* arg, std::size_t i) {
        const std::size_t bytes = std::size_t(a.nbytes());
        if (!bytes) return;
        const auto lo = reinterpret_cast<std::uintptr_t>(a.data());
        intervals.push_back({lo, lo + bytes, written, arg, i});
    };
    for (std::size_t i = 0; i < n; ++i) {
        py::array p = require_array(ctx, params[i], params_name, i);
        require_float_buffer(ctx, p, params_name, i);
        if (!p.writeable())
            value_error(ctx, ctx.label(params_name, i) + " is read-only; parameters are updated in place");
        const DType dt = dtype_of(p);
        const bool c_order = is_c_contig(p);
        auto require_like = [&](const py::array& a, const char* arg, const char* role) {
            if (a.ndim() != p.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), p.shape()))
                value_error(ctx, ctx.label(arg, i) + " has shape " + shape_str(a) + " but " + ctx.label(params_name, i) +
                                     " has shape " + shape_str(p));
            if (a.dtype().num() != p.dtype().num())
                type_error(ctx, ctx.label(arg, i) + " has dtype " + dtype_str(a) + " but " + ctx.label(params_name, i) +
                                    " has dtype " + dtype_str(p) + "; " + role + " must have the parameter's dtype");
            require_float_buffer(ctx, a, arg, i);
            if (c_order ? !is_c_contig(a) : !is_f_contig(a))
                value_error(ctx, ctx.label(arg, i) + " must have the same memory order as " + ctx.label(params_name, i) +
                                     " (" + (c_order ? "C" : "Fortran") + "-contiguous)");
        };
        py::array g = require_array(ctx, grads[i], grads_name, i);
        require_like(g, grads_name, "gradients");
        Slot& s = slots[i];
        s.param = p.mutable_data();
        s.grad = g.data();
        s.n = std::size_t(p.size());
        s.dtype = dt;
        s.grad_dtype = dt;
        add_interval(p, true, params_name, i);
        add_interval(g, false, grads_name, i);
        slots.keep_alive.push_back(p);
        slots.keep_alive.push_back(g);
        for (std::size_t k = 0; k < state_lists.size(); ++k) {
            py::array st = require_array(ctx, state_lists[k][i], state_names[k], i);
            require_like(st, state_names[k], "optimizer state");
            if (!st.writeable())
                value_error(ctx, ctx.label(state_names[k], i) + " is read-only; optimizer state is updated in place");
            s.state[state_slots[k]] = st.mutable_data();
            add_interval(st, true, state_names[k], i);
            slots.keep_alive.push_back(st);
        }
    }
    check_no_overlap(ctx, intervals);
    return slots;
}

}  // namespace bindings
}  // namespace simdoptim
