// plan.cpp - Op registry, Plan (the prepared step) and the one-shot update. See plan.h.
#include "plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>

#include <pybind11/stl.h>

#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"

namespace simdoptim {
namespace bindings {
namespace {

std::map<std::string, Op>& ops() {
    static std::map<std::string, Op> m;
    return m;
}

// Kernel calls made by plans (one per step that ran kernels): the tests prove with it that
// a step is one compiled call whatever the number of tensors and groups.
std::atomic<unsigned long long> g_update_calls{0};

// Whether a kernel is registered for these dtypes (kNoDType: any).
bool has_kernel(const char* name, DType param, DType grad, DType state) {
    for (const KernelEntry* e : runtime::kernels_named(name))
        if (e->dtypes.param == param && (grad == kNoDType || e->dtypes.grad == grad) &&
            (state == kNoDType || e->dtypes.state == state))
            return true;
    return false;
}

// "float32, bfloat16 or float16", as the reference's messages list dtypes
std::string join_or(const std::vector<const char*>& names) {
    std::string out;
    for (std::size_t k = 0; k < names.size(); ++k)
        out += std::string(k == 0 ? "" : (k + 1 == names.size() ? " or " : ", ")) + names[k];
    return out;
}

std::string dtype_list(const char* name, DType param, DType state, bool params) {
    std::vector<const char*> names;
    for (int d = 0; d < kNumDTypes; ++d) {
        const bool ok = params ? has_kernel(name, DType(d), kNoDType, kNoDType) : has_kernel(name, param, DType(d), state);
        if (ok) names.push_back(dtype_name(DType(d)));
    }
    return join_or(names);
}

std::string state_dtype_list(const char* name, DType param) {
    std::vector<const char*> names;
    for (int d = 0; d < kNumDTypes; ++d)
        if (has_kernel(name, param, kNoDType, DType(d))) names.push_back(dtype_name(DType(d)));
    return join_or(names);
}

[[noreturn]] void raise_floating_point_error(const std::string& msg) {
    PyErr_SetString(PyExc_FloatingPointError, msg.c_str());
    throw py::error_already_set();
}

py::array require_array(const std::string& func, const std::string& label, py::handle obj) {
    if (!py::isinstance<py::array>(obj)) type_error(func, label + " must be a numpy.ndarray, got " + type_name(obj));
    return py::reinterpret_borrow<py::array>(obj);
}

bool same_shape(const py::array& a, const py::array& b) {
    return a.ndim() == b.ndim() && std::equal(a.shape(), a.shape() + a.ndim(), b.shape());
}

// The dtype of a buffer that the kernels read or write in place, or a TypeError.
DType buffer_dtype(const std::string& func, const std::string& label, const py::array& a) {
    if (a.dtype().byteorder() == '>')
        type_error(func, label + " has non-native byte order (" + dtype_str(a) + "); convert it with .astype(" +
                             std::string(py::str(a.dtype().attr("newbyteorder")("=").attr("name"))) + ")");
    return dtype_of(a.dtype());
}

}  // namespace

void register_op(const Op& op) { ops()[op.name] = op; }

const Op& find_op(const std::string& name) {
    auto it = ops().find(name);
    if (it == ops().end()) throw py::value_error("simdoptim._core: no algorithm named '" + name + "'");
    return it->second;
}

struct Plan::Prepared {
    std::vector<py::object> keep_alive;  // gradients (or their copies) and outputs of this step
    bool unscale = false;
    double grad_scale = 1.0;
};

Plan::Plan(std::string func, const std::string& op_name, py::object params_obj, py::object states_obj,
           py::object groups_obj, std::size_t num_groups, py::object labels, std::string params_arg, std::string grads_arg,
           py::object copies_obj)
    : func_(std::move(func)),
      op_(&find_op(op_name)),
      num_groups_(num_groups),
      labels_{labels},
      params_arg_(std::move(params_arg)),
      grads_arg_(std::move(grads_arg)) {
    const Op& op = *op_;
    const char* pa = params_arg_.c_str();
    py::sequence params = require_list(func_, pa, params_obj);
    const std::size_t n = py::len(params);
    if (!labels.is_none() && py::len(labels) != n)
        value_error(func_, "names has " + std::to_string(py::len(labels)) + " entries but " + params_arg_ + " has " + std::to_string(n));
    // the state lists, one per Op::states entry (None where no tensor uses it)
    std::vector<py::object> state_lists(op.states.size(), py::none());
    if (!states_obj.is_none()) {
        py::sequence st = require_list(func_, "states", states_obj);
        if (py::len(st) != op.states.size())
            value_error(func_, "states has " + std::to_string(py::len(st)) + " lists; " + op.name + " keeps " +
                                   std::to_string(op.states.size()));
        for (std::size_t k = 0; k < op.states.size(); ++k) {
            py::object item = st[k];
            if (item.is_none()) continue;
            py::sequence seq = require_list(func_, op.states[k], item);
            if (py::len(seq) != n)
                value_error(func_, std::string(op.states[k]) + " has " + std::to_string(py::len(seq)) +
                                       " arrays but params has " + std::to_string(n));
            state_lists[k] = seq;
        }
    }
    group_.assign(n, 0);
    if (!groups_obj.is_none()) {
        py::sequence gs = require_list(func_, "groups", groups_obj);
        if (py::len(gs) != n) value_error(func_, "groups has " + std::to_string(py::len(gs)) + " entries but params has " + std::to_string(n));
        for (std::size_t i = 0; i < n; ++i) {
            const long long g = py::cast<long long>(gs[i]);
            if (g < 0 || std::size_t(g) >= num_groups) value_error(func_, "groups[" + std::to_string(i) + "] is out of range");
            group_[i] = std::uint32_t(g);
        }
    } else if (num_groups < 1) {
        value_error(func_, "num_groups must be >= 1");
    }

    slots_.resize(n);
    fortran_.assign(n, 0);
    kernels_.assign(n, nullptr);
    keep_alive_.reserve(n * (1 + op.states.size()));
    std::vector<Interval> intervals;
    for (std::size_t i = 0; i < n; ++i) {
        py::array p = require_array(func_, label(pa, i), params[i]);
        const DType pd = buffer_dtype(func_, label(pa, i), p);
        if (pd == kNoDType || !has_kernel(op.name, pd, kNoDType, kNoDType))
            type_error(func_, label(pa, i) + " has dtype " + dtype_str(p) + "; expected " +
                                  dtype_list(op.name, pd, pd, true));
        if (!p.writeable()) value_error(func_, label(pa, i) + " is read-only; parameters are updated in place");
        if (!is_aligned(p)) value_error(func_, label(pa, i) + " is not aligned to its element size; pass an aligned copy");
        const bool c = is_c_contig(p), f = is_f_contig(p);
        if (!c && !f)
            value_error(func_, label(pa, i) + " must be contiguous (C or Fortran order) so it can be updated in "
                                   "place; got strides " + std::string(py::str(p.attr("strides"))) + " for shape " +
                                   shape_str(p) + ". Keep the contiguous base array as the parameter");
        fortran_[i] = !c;
        Slot& s = slots_[i];
        s.param = p.mutable_data();
        s.n = std::size_t(p.size());
        s.param_dtype = pd;
        s.grad_dtype = pd;
        s.state_dtype = pd;
        s.index = std::uint32_t(i);
        keep_alive_.push_back(p);
        params_.push_back(p);
        intervals.push_back({span_of(p), true, pa, i});
        bool have_state_dtype = false;
        for (std::size_t k = 0; k < op.states.size(); ++k) {
            if (state_lists[k].is_none()) continue;
            py::object item = py::reinterpret_borrow<py::sequence>(state_lists[k])[i];
            if (item.is_none()) continue;
            const std::string lab = label(op.states[k], i);
            py::array a = require_array(func_, lab, item);
            if (!same_shape(a, p))
                value_error(func_, lab + " has shape " + shape_str(a) + " but " + label(pa, i) + " has shape " + shape_str(p));
            const DType sd = buffer_dtype(func_, lab, a);
            if (have_state_dtype ? sd != s.state_dtype : (sd == kNoDType || !has_kernel(op.name, pd, kNoDType, sd))) {
                if (have_state_dtype)
                    type_error(func_, lab + " has dtype " + dtype_str(a) + " but the other state of " + label(pa, i) +
                                          " has dtype " + dtype_name(s.state_dtype) + "; a tensor's state buffers share one dtype");
                const std::string allowed = state_dtype_list(op.name, pd);
                type_error(func_, lab + " has dtype " + dtype_str(a) + " but " + label(pa, i) + " has dtype " +
                                      dtype_str(p) + "; optimizer state must have " +
                                      (allowed == dtype_name(pd) ? std::string("the parameter's dtype") : "dtype " + allowed));
            }
            s.state_dtype = sd;
            have_state_dtype = true;
            if (!a.writeable()) value_error(func_, lab + " is read-only; optimizer state is updated in place");
            if (!is_aligned(a)) value_error(func_, lab + " is not aligned to its element size");
            if (fortran_[i] ? !is_f_contig(a) : !is_c_contig(a))
                value_error(func_, lab + " must have the same memory order as " + label(pa, i) + " (" +
                                       (fortran_[i] ? "Fortran" : "C") + "-contiguous)");
            s.state[k] = a.mutable_data();
            keep_alive_.push_back(a);
            intervals.push_back({span_of(a), true, op.states[k], i});
        }
    }
    // the low-precision copies of float32 masters (SPEC 11): written every step, like the params
    copies_.assign(n, nullptr);
    copy_dtypes_.assign(n, (unsigned char)kNoDType);
    if (!copies_obj.is_none()) {
        if (!(op.features & kOpCopies))
            value_error(func_, std::string(op.name) + " does not write low-precision copies of its parameters (copies)");
        py::sequence copies = require_list(func_, "copies", copies_obj);
        if (py::len(copies) != n)
            value_error(func_, "copies has " + std::to_string(py::len(copies)) + " entries but " + params_arg_ + " has " +
                                   std::to_string(n));
        for (std::size_t i = 0; i < n; ++i) {
            py::object item = copies[i];
            if (item.is_none()) continue;
            const std::string lab = label("copies", i);
            py::array a = require_array(func_, lab, item);
            const py::array& p = params_[i];
            if (!same_shape(a, p))
                value_error(func_, lab + " has shape " + shape_str(a) + " but " + label(pa, i) + " has shape " + shape_str(p));
            const DType cd = buffer_dtype(func_, lab, a);
            if (cd != kBFloat16 && cd != kFloat16)
                type_error(func_, lab + " has dtype " + dtype_str(a) + "; a copy is bfloat16 or float16");
            if (slots_[i].param_dtype != kFloat32)
                type_error(func_, lab + " is the copy of " + label(pa, i) + ", which must then be a float32 master, not " +
                                      dtype_str(p));
            if (!a.writeable()) value_error(func_, lab + " is read-only; copies are written every step");
            if (!is_aligned(a) || (fortran_[i] ? !is_f_contig(a) : !is_c_contig(a)))
                value_error(func_, lab + " must have the same memory order as " + label(pa, i) + " (" +
                                       (fortran_[i] ? "Fortran" : "C") + "-contiguous) and be aligned");
            copies_[i] = a.mutable_data();
            copy_dtypes_[i] = cd;
            slots_[i].param_copy = copies_[i];
            slots_[i].copy_dtype = cd;
            keep_alive_.push_back(a);
            intervals.push_back({span_of(a), true, "copies", i});
        }
    }
    check_no_overlap(func_, labels_, intervals);  // also sorts them
    intervals.erase(std::remove_if(intervals.begin(), intervals.end(), [](const Interval& v) { return v.span.empty(); }),
                    intervals.end());
    written_ = std::move(intervals);

    values_.assign(num_groups_ * op.fields.size(), 0.0);
    hyper_set_.assign(num_groups_, 0);
    hyper_stride_ = (op.hyper_size + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) * alignof(std::max_align_t);
    hypers_.reset(new unsigned char[hyper_stride_ * (num_groups_ ? num_groups_ : 1)]());
    for (std::size_t i = 0; i < n; ++i) slots_[i].hyper = hypers_.get() + hyper_stride_ * group_[i];
    common_.assign(num_groups_ ? num_groups_ : 1, StepCommon{});
    for (std::size_t i = 0; i < n; ++i) slots_[i].common = &common_[group_[i]];
    max_norm_.assign(num_groups_, std::nan(""));
    norms_.assign(num_groups_, std::nan(""));
    has_norm_.assign(num_groups_, 0);
}

void Plan::set_first_tensor(std::uint32_t first) {
    for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].index = first + std::uint32_t(i);
}

void Plan::set_clip(std::size_t group, py::object max_norm) {
    if (group >= num_groups_) value_error(func_, "group " + std::to_string(group) + " is out of range");
    if (max_norm.is_none()) {
        max_norm_[group] = std::nan("");
        has_norm_[group] = 0;
        return;
    }
    if (!(op_->features & kOpGradPrologue))
        value_error(func_, std::string(op_->name) + " does not clip gradients (max_grad_norm)");
    if (!is_real_number(max_norm)) type_error(func_, "max_grad_norm must be None or a real number, got " + type_name(max_norm));
    const double v = py::cast<double>(max_norm);
    if (!(v >= 0)) value_error(func_, "max_grad_norm must be >= 0 (or None), got " + std::string(py::str(max_norm)));
    max_norm_[group] = v;
}

bool Plan::any_clip() const {
    for (double v : max_norm_)
        if (!std::isnan(v)) return true;
    return false;
}

py::list Plan::grad_norms() const {
    py::list out;
    for (std::size_t g = 0; g < num_groups_; ++g) {
        if (has_norm_[g]) out.append(norms_[g]);
        else out.append(py::none());
    }
    return out;
}

void Plan::set_hyper(std::size_t group, py::object values_obj) {
    const Op& op = *op_;
    if (group >= num_groups_) value_error(func_, "group " + std::to_string(group) + " is out of range");
    py::sequence values = py::reinterpret_borrow<py::sequence>(values_obj);
    if (!PyList_Check(values_obj.ptr()) && !PyTuple_Check(values_obj.ptr())) type_error(func_, "values must be a tuple");
    if (py::len(values) != op.fields.size())
        value_error(func_, std::string(op.name) + " takes " + std::to_string(op.fields.size()) + " hyper-parameter values, got " +
                               std::to_string(py::len(values)));
    std::vector<double> v(op.fields.size());
    for (std::size_t k = 0; k < v.size(); ++k) {
        py::handle x = values[k];
        const double d = PyFloat_AsDouble(x.ptr());
        if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
        v[k] = d;
    }
    if (op.uses_state) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (group_[i] != group) continue;
            for (std::size_t k = 0; k < op.states.size(); ++k)
                if (op.uses_state(v.data(), k) && !slots_[i].state[k] && slots_[i].n)
                    value_error(func_, "these hyper-parameters need " + label(op.states[k], i) +
                                           ", which was not given (" + op.name + " keeps it only when the option that uses it is on)");
        }
    }
    std::copy(v.begin(), v.end(), values_.begin() + std::ptrdiff_t(group * op.fields.size()));
    hyper_set_[group] = 1;
}

void Plan::resolve_kernels() {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const Slot& s = slots_[i];
        const KernelEntry* e = runtime::find_kernel(op_->name, DTypes{s.param_dtype, s.grad_dtype, s.state_dtype});
        kernels_[i] = e ? e->update : nullptr;
        if (!kernels_[i] && s.n)
            type_error(func_, std::string("no ") + op_->name + " kernel for " + dtype_name(s.param_dtype) + " parameters with " +
                                  dtype_name(s.grad_dtype) + " gradients and " + dtype_name(s.state_dtype) + " state");
    }
    generation_ = runtime::isa_generation();
}

void Plan::prepare(py::object grads_obj, py::object outs_obj, py::object grad_scale, Prepared& p) {
    const char* pa = params_arg_.c_str();
    const char* ga = grads_arg_.c_str();
    if (!grad_scale.is_none()) {
        if (!(op_->features & kOpGradPrologue))
            value_error(func_, std::string(op_->name) + " does not unscale gradients (grad_scale)");
        if (!is_real_number(grad_scale))
            type_error(func_, "grad_scale must be None or a real number, got " + type_name(grad_scale));
        const double v = py::cast<double>(grad_scale);
        if (!(v > 0) || !std::isfinite(v))
            value_error(func_, "grad_scale must be a finite number > 0 (the loss scale the gradients are divided by), got " +
                                   std::string(py::str(grad_scale)));
        p.unscale = true;
        p.grad_scale = v;
    }
    py::sequence grads = require_list(func_, ga, grads_obj);
    const std::size_t n = slots_.size();
    if (py::len(grads) != n)
        value_error(func_, grads_arg_ + " has " + std::to_string(py::len(grads)) + " arrays but " + params_arg_ + " has " +
                               std::to_string(n) + "; pass one per parameter");
    for (std::size_t g = 0; g < num_groups_; ++g)
        if (!hyper_set_[g]) value_error(func_, "the hyper-parameters of group " + std::to_string(g) + " were never set");
    p.keep_alive.reserve(n);
    bool dtypes_changed = false;
    std::vector<Interval> outs_iv;
    for (std::size_t i = 0; i < n; ++i) {
        Slot& s = slots_[i];
        const py::array& param = params_[i];
        py::array g = require_array(func_, label(ga, i), grads[i]);
        if (!same_shape(g, param))
            value_error(func_, label(ga, i) + " has shape " + shape_str(g) + " but " + label(pa, i) +
                                   " has shape " + shape_str(param));
        const DType gd = buffer_dtype(func_, label(ga, i), g);
        if (gd != s.grad_dtype) {
            if (gd == kNoDType || !has_kernel(op_->name, s.param_dtype, gd, s.state_dtype))
                type_error(func_, label(ga, i) + " has dtype " + dtype_str(g) + " but " + label(pa, i) +
                                      " has dtype " + dtype_str(param) + "; gradients must have dtype " +
                                      dtype_list(op_->name, s.param_dtype, s.state_dtype, false));
            dtypes_changed = true;
        }
        // A gradient is only read, so any layout is accepted: one whose memory order differs
        // from its parameter's (or strided, negatively strided, broadcast, misaligned) is
        // first copied into the parameter's order. The overlap check uses the caller's array.
        const Span sp = span_of(g);
        if (!sp.empty()) {
            auto it = std::upper_bound(written_.begin(), written_.end(), sp.lo,
                                       [](std::uintptr_t lo, const Interval& v) { return lo < v.span.hi; });
            if (it != written_.end() && it->span.lo < sp.hi) {
                const bool same = it->span.lo == sp.lo && it->span.hi == sp.hi;
                value_error(func_, label(it->arg, it->index) + (same ? " is the same memory as " : " overlaps ") +
                                       label(ga, i) + (same ? "; " : " in memory; ") + kOverlapAdvice);
            }
        }
        const bool usable = is_aligned(g) && (fortran_[i] ? is_f_contig(g) : is_c_contig(g));
        if (!usable && s.n) {
            static PyObject* const np = py::module_::import("numpy").release().ptr();
            g = py::reinterpret_borrow<py::object>(np).attr("array")(g, py::arg("order") = fortran_[i] ? "F" : "C");
        }
        s.grad = g.data();
        s.grad_dtype = gd;
        p.keep_alive.push_back(g);
    }
    if (dtypes_changed || generation_ != runtime::isa_generation()) resolve_kernels();
    for (std::size_t i = 0; i < n; ++i) {
        slots_[i].param_copy = copies_[i];
        slots_[i].copy_dtype = DType(copy_dtypes_[i]);
    }
    if (!outs_obj.is_none()) {
        for (void* c : copies_)
            if (c) value_error(func_, "outs cannot be given to a plan that writes copies");
        py::sequence outs = require_list(func_, "outs", outs_obj);
        if (py::len(outs) != n)
            value_error(func_, "outs has " + std::to_string(py::len(outs)) + " arrays but params has " + std::to_string(n));
        for (std::size_t i = 0; i < n; ++i) {
            Slot& s = slots_[i];
            const py::array& param = params_[i];
            py::array o = require_array(func_, label("outs", i), outs[i]);
            if (!same_shape(o, param))
                value_error(func_, label("outs", i) + " has shape " + shape_str(o) + " but " + label(pa, i) +
                                       " has shape " + shape_str(param));
            if (buffer_dtype(func_, label("outs", i), o) != s.param_dtype)
                type_error(func_, label("outs", i) + " has dtype " + dtype_str(o) + " but " + label(pa, i) +
                                      " has dtype " + dtype_str(param) + "; outputs must have the parameter's dtype");
            if (!o.writeable()) value_error(func_, label("outs", i) + " is read-only");
            if (!is_aligned(o) || (fortran_[i] ? !is_f_contig(o) : !is_c_contig(o)))
                value_error(func_, label("outs", i) + " must have the same memory order as " + label(pa, i) + " (" +
                                       (fortran_[i] ? "Fortran" : "C") + "-contiguous) and be aligned");
            s.param_copy = o.mutable_data();
            s.copy_dtype = s.param_dtype;
            p.keep_alive.push_back(o);
            outs_iv.push_back({span_of(o), true, "outs", i});
        }
        // outputs against each other, the written buffers and the gradients
        std::vector<Interval> all = written_;
        all.insert(all.end(), outs_iv.begin(), outs_iv.end());
        for (std::size_t i = 0; i < n; ++i) all.push_back({span_of(p.keep_alive[i].cast<py::array>()), false, ga, i});
        all.erase(std::remove_if(all.begin(), all.end(), [](const Interval& v) { return v.span.empty(); }), all.end());
        check_no_overlap(func_, labels_, all);
    }
}

void Plan::execute(const Prepared&, long long step_number) {
    const Op& op = *op_;
    const std::size_t nf = op.fields.size();
    for (std::size_t g = 0; g < num_groups_; ++g)
        op.build(values_.data() + g * nf, step_number, hypers_.get() + g * hyper_stride_);
    for (StepCommon& c : common_) {
        c.step = std::uint64_t(step_number);
        c.seed = seed;
        c.stochastic = stochastic;
    }
    g_update_calls.fetch_add(1, std::memory_order_relaxed);
    const UpdateFn* fns = kernels_.data();
    const Slot* first = slots_.data();
    runtime::for_each_slot_range(slots_.data(), slots_.size(), [fns, first](const Slot& s, std::size_t b, std::size_t e) {
        fns[&s - first](s, b, e);
    });
}

namespace {
// Non-finite gradients: one parallel read pass; the first bad tensor is looked for only on failure.
bool grads_finite(const std::vector<Slot>& slots, std::ptrdiff_t* first_bad) {
    std::vector<FiniteFn> fns(kNumDTypes, nullptr);
    for (int d = 0; d < kNumDTypes; ++d) {
        const KernelEntry* e = runtime::find_kernel("all_finite", same_dtypes(DType(d)));
        fns[std::size_t(d)] = e ? e->finite : nullptr;
    }
    // the pass reads the gradients: give each a slot whose "param" is its gradient
    std::vector<Slot> view(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        view[i].param = const_cast<void*>(slots[i].grad);
        view[i].n = slots[i].n;
        view[i].param_dtype = slots[i].grad_dtype;
        view[i].index = std::uint32_t(i);
    }
    std::atomic<bool> ok{true};
    runtime::for_each_slot_range(view.data(), view.size(), [&](const Slot& s, std::size_t b, std::size_t e) {
        FiniteFn f = fns[s.param_dtype];
        if (f && !f(s.param, b, e)) ok.store(false, std::memory_order_relaxed);
    }, runtime::Work::kRead);
    if (ok.load()) return true;
    for (std::size_t i = 0; i < view.size(); ++i) {
        FiniteFn f = fns[view[i].param_dtype];
        if (view[i].n && f && !f(view[i].param, 0, view[i].n)) {
            *first_bad = std::ptrdiff_t(i);
            break;
        }
    }
    return false;
}

struct BusyGuard {
    std::atomic<bool>& flag;
    explicit BusyGuard(std::atomic<bool>& f, const std::string& func) : flag(f) {
        if (flag.exchange(true))
            throw py::value_error(func + ": another thread is running a step of this optimizer; one optimizer "
                                         "steps from one thread at a time");
    }
    ~BusyGuard() { flag.store(false); }
};
}  // namespace

std::vector<double> grad_block_sums(const std::vector<Slot>& slots, const std::vector<char>& include,
                                    std::vector<std::uint32_t>* block_slot) {
    // the blocks, in (tensor, block) order, of the tensors whose gradients are summed
    struct Block {
        std::uint32_t slot;
        std::size_t begin, end;
    };
    std::vector<Block> blocks;
    std::vector<SumSqFn> fns(slots.size(), nullptr);
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const Slot& s = slots[i];
        if (!include[i]) continue;
        const KernelEntry* e = runtime::find_kernel("grad_sumsq", same_dtypes(s.grad_dtype));
        fns[i] = e ? e->sumsq : nullptr;
        for (std::size_t b = 0; b < s.n; b += kNormBlock) blocks.push_back({std::uint32_t(i), b, std::min(s.n, b + kNormBlock)});
    }
    std::vector<double> sums(blocks.size(), 0.0);
    const Slot* first = slots.data();
    runtime::parallel_items(blocks.size(), kNormBlock, [&](std::size_t b, std::size_t e) {
        for (std::size_t k = b; k < e; ++k) {
            const Block& blk = blocks[k];
            const Slot& s = first[blk.slot];
            sums[k] = fns[blk.slot](s.grad, blk.begin, blk.end, s.common);
        }
    });
    if (block_slot) {
        block_slot->resize(blocks.size());
        for (std::size_t k = 0; k < blocks.size(); ++k) (*block_slot)[k] = blocks[k].slot;
    }
    return sums;
}

bool Plan::norm_pass(bool check_all, std::ptrdiff_t* first_bad) {
    std::vector<char> include(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) include[i] = check_all || !std::isnan(max_norm_[group_[i]]);
    std::vector<std::uint32_t> block_slot;
    const std::vector<double> sums = grad_block_sums(slots_, include, &block_slot);
    // block sums combined in block order, per group (SPEC 12)
    std::vector<double> totals(num_groups_, 0.0);
    bool finite = true;
    for (std::size_t k = 0; k < sums.size(); ++k) {
        totals[group_[block_slot[k]]] += sums[k];
        if (finite && !std::isfinite(sums[k])) {
            finite = false;
            *first_bad = std::ptrdiff_t(block_slot[k]);
        }
    }
    for (std::size_t g = 0; g < num_groups_; ++g) {
        if (std::isnan(max_norm_[g])) continue;
        const double norm = std::sqrt(totals[g]);
        double coef = max_norm_[g] / (norm + 1e-6);  // clip_grad_norm_'s max_norm / (norm + 1e-6), at most 1
        if (coef > 1.0) coef = 1.0;                  // (NaN stays NaN, as torch's clamp keeps it)
        common_[g].clip = coef;
        common_[g].clip_on = true;
        norms_[g] = norm;
        has_norm_[g] = 1;
    }
    return finite;
}

bool Plan::step(py::object grads, py::object outs, py::object grad_scale) {
    BusyGuard busy(busy_, func_);
    Prepared p;
    prepare(grads, outs, grad_scale, p);
    std::ptrdiff_t bad = -1;
    bool finite = true;
    {
        ReleasedGIL nogil;
        for (StepCommon& c : common_) {
            c.unscale = p.unscale;
            c.grad_scale = p.grad_scale;
            c.clip_on = false;
        }
        const bool check = nonfinite != NonFinite::kPropagate;
        if (any_clip() || (check && p.unscale)) finite = norm_pass(check, &bad);
        else if (check) finite = grads_finite(slots_, &bad);
        if (finite) execute(p, t + 1);
    }
    if (!finite) {
        if (nonfinite == NonFinite::kRaise)
            raise_floating_point_error(func_ + ": " + label(grads_arg_.c_str(), std::size_t(bad < 0 ? 0 : bad)) +
                                       " holds NaN or infinity; nothing was updated (nonfinite='raise')");
        ++skipped;
        return false;
    }
    ++t;
    return true;
}

py::object Plan::run(py::object grads, long long step_number, py::object outs, py::object grad_scale) {
    BusyGuard busy(busy_, func_);
    Prepared p;
    prepare(grads, outs, grad_scale, p);
    {
        ReleasedGIL nogil;
        for (StepCommon& c : common_) {
            c.unscale = p.unscale;
            c.grad_scale = p.grad_scale;
            c.clip_on = false;
        }
        std::ptrdiff_t bad = -1;
        if (any_clip()) norm_pass(false, &bad);
        execute(p, step_number);
    }
    if (num_groups_ && has_norm_[0]) return py::float_(norms_[0]);
    return py::none();
}

namespace {

py::object update(const std::string& func, const std::string& op, py::object params, py::object grads, py::object states,
                  py::object values, Count step, py::object labels, py::object outs,
                  std::pair<std::string, std::string> args, py::object copies, py::object grad_scale,
                  py::object max_grad_norm, Flag stochastic, std::uint64_t seed, std::uint32_t first_tensor) {
    Plan plan(func, op, params, states, py::none(), 1, labels, args.first, args.second, copies);
    plan.set_first_tensor(first_tensor);
    plan.set_hyper(0, values);
    plan.set_clip(0, max_grad_norm);
    plan.stochastic = stochastic;
    plan.seed = seed;
    return plan.run(grads, step, outs, grad_scale);
}

}  // namespace

SIMDOPTIM_BINDING(plan) {
    using namespace py::literals;
    py::class_<Plan>(m, "Plan",
                     "Private: the prepared step of an optimizer (simdoptim's optimizer classes build one). "
                     "Binds parameters and state once; step(grads) checks only the gradients.")
        .def(py::init<std::string, const std::string&, py::object, py::object, py::object, std::size_t, py::object,
                      std::string, std::string, py::object>(),
             "func"_a, "op"_a, "params"_a, "states"_a, "groups"_a = py::none(), "num_groups"_a = 1,
             "labels"_a = py::none(), "params_arg"_a = "params", "grads_arg"_a = "grads", "copies"_a = py::none())
        .def("set_hyper", &Plan::set_hyper, "group"_a, "values"_a)
        .def("set_clip", &Plan::set_clip, "group"_a, "max_norm"_a,
             "Clipping of a group by the global norm of its gradients: None (off) or max_norm >= 0.")
        .def("step", &Plan::step, "grads"_a, "outs"_a = py::none(), "grad_scale"_a = py::none())
        .def("run", [](Plan& p, py::object grads, Count step, py::object outs, py::object grad_scale) {
                 return p.run(grads, step, outs, grad_scale);
             }, "grads"_a, "step"_a, "outs"_a = py::none(), "grad_scale"_a = py::none())
        .def("__call__", [](Plan& p, py::object grads, Count step, py::object outs, py::object grad_scale) {
                 return p.run(grads, step, outs, grad_scale);
             }, "grads"_a, "step"_a = 1, "outs"_a = py::none(), "grad_scale"_a = py::none(),
             "run(grads, step=1, outs=None, grad_scale=None): the bound update with these gradients (functional.prepare).")
        .def_property_readonly("grad_norms", &Plan::grad_norms,
                               "Per group: the norm of its unscaled gradients at the last step that measured it, or None.")
        .def_property(
            "rounding", [](const Plan& p) { return std::string(p.stochastic ? "stochastic" : "nearest"); },
            [](Plan& p, const std::string& r) {
                if (r != "nearest" && r != "stochastic")
                    throw py::value_error("rounding must be 'nearest' or 'stochastic', got '" + r + "'");
                p.stochastic = r == "stochastic";
            })
        .def_readwrite("seed", &Plan::seed)
        .def("set_first_tensor", &Plan::set_first_tensor, "first"_a,
             "The tensor index of params[0] in the keys of stochastic rounding (default 0).")
        .def_readwrite("t", &Plan::t)
        .def_readwrite("skipped_steps", &Plan::skipped)
        .def_property(
            "nonfinite", [](const Plan& p) { return int(p.nonfinite); },
            [](Plan& p, int v) {
                if (v < 0 || v > 2) throw py::value_error("nonfinite must be 0, 1 or 2");
                p.nonfinite = NonFinite(v);
            })
        .def("__len__", &Plan::size);
    m.def("update", &update, "func"_a, "op"_a, "params"_a, "grads"_a, "states"_a, "values"_a, "step"_a,
          "labels"_a = py::none(), "outs"_a = py::none(),
          "arg_names"_a = std::make_pair(std::string("params"), std::string("grads")), "copies"_a = py::none(),
          "grad_scale"_a = py::none(), "max_grad_norm"_a = py::none(), "stochastic"_a = false, "seed"_a = 0,
          "first_tensor"_a = 0,
          "Private: one update of every tensor (the functional API): Plan(...).set_hyper(0, values); run(grads, step). "
          "Returns the gradients' norm when max_grad_norm is given, else None.");
    m.def("ops", [] {
        py::dict d;
        for (const auto& kv : ops()) {
            py::list fields, states;
            for (const char* f : kv.second.fields) fields.append(f);
            for (const char* s : kv.second.states) states.append(s);
            d[py::str(kv.first)] = py::make_tuple(py::tuple(fields), py::tuple(states));
        }
        return d;
    }, "Private: {op name: (hyper-parameter fields, state buffers)} of every registered algorithm.");
    m.def("_update_calls", [] { return g_update_calls.load(); },
          "Private (tests): how many steps have run kernels through a plan since import.");
}

}  // namespace bindings
}  // namespace simdoptim
