// checks.h - everything the bindings verify before a kernel may touch memory.
//
// Every public entry point validates all of its arguments first (types, dtypes, shapes,
// layouts, writeability, aliasing, hyper-parameter ranges) and only then releases the GIL
// and runs the kernel, so a rejected call leaves every array byte-identical. Nothing is
// converted or copied: an array that is not already usable in place is refused with a
// message that names the argument (params[2], grads['W1'], lr, ...) and what was expected.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/kernels.h"

namespace simdoptim {
namespace bindings {

namespace py = pybind11;

// What is being called, and how its tensors are named in messages: names is None (tensors
// are called params[0], params[1], ...) or a sequence of keys (params['W1'], ...).
struct Context {
    const char* func;
    py::handle names;
    std::string label(const char* arg, std::size_t i) const;
};

// A list or tuple of arrays, or a clear TypeError. An empty list is allowed.
py::sequence require_list(const Context& ctx, const char* arg, py::handle obj);

// One state list per algorithm buffer, in Slot::state order; a null or None `items`
// means "not used by this call" (that Slot::state entry stays null).
struct StateArg {
    const char* name;
    py::handle items;
};

// Validates params, grads and the state lists together and fills one Slot per tensor.
// Checks: same lengths; every item a NumPy array; params float32/float64, aligned, native
// byte order, C- or F-contiguous and writeable; grads of the same shape, dtype and layout;
// states of the same shape, dtype and layout, writeable; no written buffer overlapping any
// other buffer of the call.
// The validated slots, plus a strong reference to every array they point into: the kernels
// run with the GIL released, when another Python thread may replace an array in the
// caller's list; holding the arrays keeps their memory alive until the call returns.
struct Slots : std::vector<Slot> {
    std::vector<py::object> keep_alive;
};

Slots collect_slots(const Context& ctx, py::handle params, py::handle grads,
                                std::initializer_list<StateArg> states, const char* grads_name = "grads",
                                const char* params_name = "params");

// Raises ValueError unless lo <= x <= hi (or lo <= x < hi) and x is not NaN.
void check_range(const Context& ctx, const char* name, double x, double lo, double hi, bool hi_inclusive);
inline void check_nonnegative(const Context& ctx, const char* name, double x) {
    check_range(ctx, name, x, 0.0, std::numeric_limits<double>::infinity(), true);
}
inline void check_beta(const Context& ctx, const char* name, double x) { check_range(ctx, name, x, 0.0, 1.0, false); }
void check_finite_nonnegative(const Context& ctx, const char* name, double x);

// Raises ValueError naming the two buffers if any written interval overlaps another one.
struct Interval {
    std::uintptr_t lo, hi;
    bool written;
    const char* arg;
    std::size_t index;
};
void check_no_overlap(const Context& ctx, std::vector<Interval>& intervals);

DType dtype_of(const py::array& a);

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

// Scalar arguments accepted exactly as simdoptim.reference accepts them (_validate.py):
// Real is any numbers.Real but bool (int, float, NumPy scalars), Count any numbers.Integral
// but bool. pybind11's own double/long long casters would also take True or numpy.bool_,
// which the reference refuses; a refused scalar is a TypeError naming the signature.
struct Real {
    double value;
    operator double() const { return value; }
};
struct Count {
    long long value;  // saturates beyond +-2^63: beta**t is the same (0) for such t
    operator long long() const { return value; }
};
// Flag is a bool or numpy.bool_ only: pybind11's bool caster would also take 1 or any
// object with __bool__, and a truthy string such as "no" must not silently mean True.
struct Flag {
    bool value;
    operator bool() const { return value; }
};
bool is_real_number(py::handle obj);
bool is_integral_number(py::handle obj);
bool is_flag(py::handle obj);

}  // namespace bindings
}  // namespace simdoptim

namespace pybind11 {
namespace detail {
template <>
struct type_caster<simdoptim::bindings::Real> {
    PYBIND11_TYPE_CASTER(simdoptim::bindings::Real, const_name("float"));
    bool load(handle src, bool) {
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
        if (!src || !simdoptim::bindings::is_integral_number(src)) return false;
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
