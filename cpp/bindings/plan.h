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

struct Op {
    const char* name;                 // the kernels' registry name, and the op's name in Python
    std::vector<const char*> fields;  // hyper-parameter fields, in the order Python passes them
    std::vector<const char*> states;  // state buffers per tensor, in Slot::state order (at most 3)
    std::size_t hyper_size;           // sizeof the kernel's Hyper struct
    // Fills the Hyper struct of one group from its field values and the number of this step.
    void (*build)(const double* values, long long step, void* hyper);
    // Whether a group with these values uses state buffer k (null: every buffer, always).
    bool (*uses_state)(const double* values, std::size_t k);
};

// Called by each algorithm's binding (SIMDOPTIM_BINDING); ops are looked up by name.
void register_op(const Op& op);
const Op& find_op(const std::string& name);

enum class NonFinite : int { kPropagate = 0, kSkip = 1, kRaise = 2 };

class Plan {
   public:
    // func names the caller in messages ("Adam.step"); params is a list of arrays; states is
    // None or one entry per Op::states, each None or a list with an array or None per tensor;
    // groups is None (one group) or the group of each tensor; labels name the tensors
    // (Labels in checks.h).
    // params_arg and grads_arg name the lists in messages ("averages"/"values" for the EMA).
    Plan(std::string func, const std::string& op, py::object params, py::object states, py::object groups,
         std::size_t num_groups, py::object labels, std::string params_arg = "params", std::string grads_arg = "grads");

    // Sets one group's hyper-parameters: a sequence of numbers in Op::fields order.
    void set_hyper(std::size_t group, py::object values);
    // One step with the counts: uses step number t + 1; with nonfinite skip/raise first
    // checks the gradients. Returns false when a step was skipped (nothing written).
    bool step(py::object grads, py::object outs);
    // One step with an explicit step number and no counts (the functional API).
    void run(py::object grads, long long step_number, py::object outs);

    long long t = 0;        // steps applied
    long long skipped = 0;  // steps skipped for non-finite gradients
    NonFinite nonfinite = NonFinite::kPropagate;

    std::size_t size() const { return slots_.size(); }
    const Op& op() const { return *op_; }

   private:
    struct Prepared;
    void prepare(py::object grads, py::object outs, Prepared& p);
    void execute(const Prepared& p, long long step_number);
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
    unsigned generation_ = ~0u;
    std::atomic<bool> busy_{false};
};

}  // namespace bindings
}  // namespace simdoptim
