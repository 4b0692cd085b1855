// checks.h - what every binding verifies before a kernel may touch memory, and the one way
// every binding releases the GIL.
//
// The public Python functions validate their scalar arguments (simdoptim/_checks.py, shared
// by both backends, so both name the argument the same way); the bindings validate every
// array (types, dtypes, shapes, layouts, writeability, aliasing) and only then release the
// GIL and run the kernel, so a rejected call leaves every array byte-identical. Nothing
// that is written is converted or copied: an array that cannot be updated in place is
// refused with a message that names it (params[2], grads['W1'], exp_avgs[1][0], ...).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/kernels.h"

namespace simdoptim {
namespace bindings {

namespace py = pybind11;

// The name of obj's type, for messages.
std::string type_name(py::handle obj);
std::string shape_str(const py::array& a);
std::string dtype_str(const py::array& a);

[[noreturn]] void type_error(const std::string& func, const std::string& msg);
[[noreturn]] void value_error(const std::string& func, const std::string& msg);

// How a tensor is named in messages: arg + suffix, where the suffix comes from the tensor's
// key: None -> "[i]"; a str or int k -> "[repr(k)]"; a tuple (g, k) -> "[g][repr(k)]".
struct Labels {
    py::object keys;  // None or a sequence with one key per tensor
    std::string operator()(const char* arg, std::size_t i) const;
};

// A list or tuple, or a TypeError naming arg. An empty one is allowed.
py::sequence require_list(const std::string& func, const char* arg, py::handle obj);

// float32, float64, float16 or ml_dtypes.bfloat16 in native byte order, else kNoDType.
DType dtype_of(const py::dtype& dt);
const char* dtype_name(DType d);

bool is_c_contig(const py::array& a);
bool is_f_contig(const py::array& a);
bool is_aligned(const py::array& a);

// The byte interval [lo, hi) an array's elements occupy (any strides), empty for size 0.
struct Span {
    std::uintptr_t lo = 0, hi = 0;
    bool empty() const { return lo >= hi; }
};
Span span_of(const py::array& a);

// A buffer of a call and its role, for the overlap check.
struct Interval {
    Span span;
    bool written;
    const char* arg;
    std::size_t index;
};
// Raises ValueError naming the two buffers if a written interval overlaps another one.
// The end of every overlap message (python/simdoptim/_checks.py OVERLAP_ADVICE says the same).
inline constexpr const char* kOverlapAdvice =
    "a buffer that is updated in place may share memory with no other buffer (pass each parameter once, and a "
    "copy of a gradient that aliases one, e.g. g.copy())";

void check_no_overlap(const std::string& func, const Labels& labels, std::vector<Interval>& intervals);

// Releases the GIL for a kernel, like py::gil_scoped_release, and records whether the
// calling thread still held it afterwards; the private hook _core._gil_released_last()
// (which also resets the record) lets the tests prove that every entry point runs its
// kernel without the GIL.
void record_gil_state();
bool gil_released_last();
struct ReleasedGIL {
    py::gil_scoped_release release;
    ReleasedGIL() { record_gil_state(); }
};

// Scalar arguments accepted exactly as simdoptim._checks accepts them: Real is any
// numbers.Real but bool (int, float, NumPy scalars), Count any numbers.Integral but bool,
// Flag a bool or numpy.bool_. pybind11's own casters would take True for a number or any
// truthy object for a flag.
struct Real {
    double value;
    operator double() const { return value; }
};
struct Count {
    long long value;  // saturates beyond +-2^63: beta**t is the same (0) for such t
    operator long long() const { return value; }
};
struct Flag {
    bool value;
    operator bool() const { return value; }
};
bool is_real_number(py::handle obj);
bool is_integral_number(py::handle obj);
bool is_flag(py::handle obj);

// Each binding source registers its module functions with SIMDOPTIM_BINDING(name) { ... }
// (module.cpp calls them all, in name order), so adding one is a new file and no list.
using BindingFn = void (*)(py::module_&);
int add_binding(const char* name, BindingFn fn) noexcept;
void bind_all(py::module_& m);

}  // namespace bindings
}  // namespace simdoptim

#define SIMDOPTIM_BINDING(name)                                                                   \
    static void simdoptim_bind_##name(::pybind11::module_& m);                                    \
    [[maybe_unused]] static const int simdoptim_binding_##name =                                  \
        ::simdoptim::bindings::add_binding(#name, simdoptim_bind_##name);                         \
    static void simdoptim_bind_##name(::pybind11::module_& m)

namespace pybind11 {
namespace detail {
template <>
struct type_caster<simdoptim::bindings::Real> {
    PYBIND11_TYPE_CASTER(simdoptim::bindings::Real, const_name("float"));
    bool load(handle src, bool) {
        if (src && PyFloat_CheckExact(src.ptr())) {  // the common case, without the ABC check
            value.value = PyFloat_AS_DOUBLE(src.ptr());
            return true;
        }
        if (!src || !simdoptim::bindings::is_real_number(src)) return false;
        const double v = PyFloat_AsDouble(src.ptr());
        if (v == -1.0 && PyErr_Occurred()) {  // e.g. an int too large for a double
            PyErr_Clear();
            return false;
        }
        value.value = v;
        return true;
    }
};
template <>
struct type_caster<simdoptim::bindings::Flag> {
    PYBIND11_TYPE_CASTER(simdoptim::bindings::Flag, const_name("bool"));
    bool load(handle src, bool) {
        if (!src || !simdoptim::bindings::is_flag(src)) return false;
        value.value = PyObject_IsTrue(src.ptr()) == 1;
        return true;
    }
};
template <>
struct type_caster<simdoptim::bindings::Count> {
    PYBIND11_TYPE_CASTER(simdoptim::bindings::Count, const_name("int"));
    bool load(handle src, bool) {
        if (!src) return false;
        if (PyLong_CheckExact(src.ptr())) {  // the common case, without the ABC check
            int overflow = 0;
            const long long v = PyLong_AsLongLongAndOverflow(src.ptr(), &overflow);
            value.value = overflow > 0 ? std::numeric_limits<long long>::max()
                                       : overflow < 0 ? std::numeric_limits<long long>::min() : v;
            return true;
        }
        if (!simdoptim::bindings::is_integral_number(src)) return false;
        object index = reinterpret_steal<object>(PyNumber_Index(src.ptr()));
        if (!index) {
            PyErr_Clear();
            return false;
        }
        int overflow = 0;
        const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
        if (v == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return false;
        }
        value.value = overflow > 0 ? std::numeric_limits<long long>::max()
                                   : overflow < 0 ? std::numeric_limits<long long>::min() : v;
        return true;
    }
};
}  // namespace detail
}  // namespace pybind11
