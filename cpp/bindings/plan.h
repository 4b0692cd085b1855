// plan.h - the one optimizer core on the C++ side: an algorithm (Op) and a prepared step (Plan).
//
// An Op describes one update algorithm to the core: the kernel name it registered
// (kernels.h), the hyper-parameter fields Python passes per parameter group (in order), the
// state buffers it keeps per tensor (Slot::state order), and how one group's fields and the
// step number become the kernel's Hyper struct (per-step scalars such as bias corrections
// are computed there, once, in float64). Each algorithm's binding source registers its Op.
//
// A Plan binds an optimizer's tensors once: every parameter and state buffer is validated at
// construction (dtype, shape, layout, writeable, no aliasing) and held; each group's
// hyper-parameters are set when they change; a step then checks only the gradients, builds
// one Hyper per group and runs every tensor of every group in ONE parallel region with the
// GIL released. The step count and the skipped-step count live here and change inside the
// same call as the tensors, so from Python a step is all or nothing (an exception or a
// KeyboardInterrupt sees either the old state and counts or the new ones).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "checks.h"

namespace simdoptim {
namespace bindings {

// What an algorithm's kernels honour beyond their update (the plan refuses the rest).
enum OpFeature : unsigned {
    kOpGradPrologue = 1,  // StepCommon's unscaling and clipping of the gradient
    kOpCopies = 2,        // Slot::param_copy as the low-precision copy of a float32 master
};

struct Op {
    const char* name;                 // the kernels' registry name, and the op's name in Python
    std::vector<const char*> fields;  // hyper-parameter fields, in the order Python passes them
    std::vector<const char*> states;  // state buffers per tensor, in Slot::state order (at most 3)
    std::size_t hyper_size;           // sizeof the kernel's Hyper struct
    // Fills the Hyper struct of one group from its field values and the number of this step.
    void (*build)(const double* values, long long step, void* hyper);
    // Whether a group with these values uses state buffer k (null: every buffer, always).
    bool (*uses_state)(const double* values, std::size_t k);
    unsigned features = 0;            // OpFeature bits
};

// Called by each algorithm's binding (SIMDOPTIM_BINDING); ops are looked up by name.
void register_op(const Op& op);
const Op& find_op(const std::string& name);

enum class NonFinite : int { kPropagate = 0, kSkip = 1, kRaise = 2 };

// The read pass of SPEC 12: the sums of squares of the unscaled gradients (Slot::grad,
// grad_dtype, common) of the slots with include[i], one per block of kNormBlock elements, in
// (slot, block) order, computed in parallel; *block_slot (if given) receives each block's slot.
std::vector<double> grad_block_sums(const std::vector<Slot>& slots, const std::vector<char>& include,
                                    std::vector<std::uint32_t>* block_slot);

class Plan {
   public:
    // func names the caller in messages ("Adam.step"); params is a list of arrays; states is
    // None or one entry per Op::states, each None or a list with an array or None per tensor;
    // groups is None (one group) or the group of each tensor; labels name the tensors
    // (Labels in checks.h).
    // params_arg and grads_arg name the lists in messages ("averages"/"values" for the EMA).
    // copies is None or one entry per tensor, None or a float16/bfloat16 array of a float32
    // parameter's shape and memory order: the parameter is then a float32 master and each
    // step writes its rounded value there in the same pass (master weights, SPEC 11).
    Plan(std::string func, const std::string& op, py::object params, py::object states, py::object groups,
         std::size_t num_groups, py::object labels, std::string params_arg = "params", std::string grads_arg = "grads",
         py::object copies = py::none());

    // Sets one group's hyper-parameters: a sequence of numbers in Op::fields order.
    void set_hyper(std::size_t group, py::object values);
    // Clipping of one group by the global norm of its gradients (SPEC 12): None (off) or
    // max_norm, a number >= 0 (inf: only measure the norm).
    void set_clip(std::size_t group, py::object max_norm);
    // The tensor index of the first tensor in the keys of stochastic rounding (Slot::index).
    void set_first_tensor(std::uint32_t first);
    // One step with the counts: uses step number t + 1; with nonfinite skip/raise first
    // checks the gradients (after unscaling by grad_scale, None or a finite number > 0).
    // Returns false when a step was skipped (nothing written).
    bool step(py::object grads, py::object outs, py::object grad_scale = py::none());
    // One step with an explicit step number and no counts (the functional API). Returns the
    // norm of group 0's gradients when it clips, else None.
    py::object run(py::object grads, long long step_number, py::object outs, py::object grad_scale = py::none());
    // The norm (after unscaling, before clipping) of each group's gradients at the last step
    // that measured it; None for a group that does not clip.
    py::list grad_norms() const;

    long long t = 0;        // steps applied
    long long skipped = 0;  // steps skipped for non-finite gradients
    NonFinite nonfinite = NonFinite::kPropagate;
    bool stochastic = false;     // rounding of float16/bfloat16 stores: nearest even (false) or stochastic
    std::uint64_t seed = 0;      // the key of stochastic rounding's random bits

    std::size_t size() const { return slots_.size(); }
    const Op& op() const { return *op_; }

   private:
    struct Prepared;
    void prepare(py::object grads, py::object outs, py::object grad_scale, Prepared& p);
    void execute(const Prepared& p, long long step_number);
    // The read pass before the update: block sums of squares of the unscaled gradients of
    // the tensors of clipping groups (of every tensor with check_all); sets each clipping
    // group's coefficient and norm. False (and *first_bad) when a summed gradient is not finite.
    bool norm_pass(bool check_all, std::ptrdiff_t* first_bad);
    bool any_clip() const;
    void resolve_kernels();
    std::string label(const char* arg, std::size_t i) const { return labels_(arg, i); }

    std::string func_;
    const Op* op_;
    std::vector<Slot> slots_;
    std::vector<py::object> keep_alive_;  // the params and state arrays the slots point into
    std::vector<py::array> params_;
    std::vector<std::uint32_t> group_;    // group of each tensor
    std::vector<char> fortran_;           // 1 when the tensor's buffers are Fortran-ordered (not C)
    std::size_t num_groups_;
    std::vector<double> values_;          // num_groups x fields
    std::vector<char> hyper_set_;
    std::unique_ptr<unsigned char[]> hypers_;  // num_groups x hyper_stride_ bytes
    std::size_t hyper_stride_ = 0;
    std::vector<Interval> written_;       // sorted by address, pairwise disjoint
    Labels labels_;
    std::string params_arg_, grads_arg_;
    std::vector<UpdateFn> kernels_;
    std::vector<void*> copies_;           // per tensor: the master's low-precision copy, or null
    std::vector<unsigned char> copy_dtypes_;  // DType values (a vector of the enum would export a std symbol)
    std::vector<StepCommon> common_;      // per group, this step's StepCommon (the slots point here)
    std::vector<double> max_norm_;        // per group; NaN: no clipping
    std::vector<double> norms_;           // per group: the last measured norm; NaN with has_norm_ 0
    std::vector<char> has_norm_;
    unsigned generation_ = ~0u;
    std::atomic<bool> busy_{false};
};

}  // namespace bindings
}  // namespace simdoptim
