// kernels.h - the ISA-neutral boundary between the bindings and the kernels.
//
// Kernels see raw pointers, element counts and plain double scalars, never pybind11 or
// NumPy types. Every update kernel has the signature
//     void kernel(const Hyper&, const Slot&, std::size_t begin, std::size_t end)
// and updates elements [begin, end) of one tensor, so the runtime can split one tensor,
// or a whole list of tensors, across threads however it likes without changing a bit of
// the result (the updates are element-wise and the tail runs the same expression).
//
// Hyper-parameters arrive as doubles; each kernel casts them to the element type once, as
// NumPy casts a Python float. Per-step scalars (bias corrections, decay factors) are
// computed once in float64 before the kernel is called.
#pragma once

#include <cstddef>
#include <cstdint>

namespace simdoptim {

enum DType : int { kFloat32 = 0, kFloat64 = 1, kNumDTypes = 2 };

// The buffers of one parameter tensor; every pointer addresses n elements in the same
// memory order. grad_dtype and param_copy are the hooks for mixed precision (bf16/fp16
// gradients in, fp32 master weights, a low-precision copy of the weights out in the same
// pass): today grad_dtype == dtype and param_copy is null.
struct Slot {
    void* param = nullptr;
    const void* grad = nullptr;
    void* state[3] = {nullptr, nullptr, nullptr};
    void* param_copy = nullptr;
    std::size_t n = 0;
    DType dtype = kFloat32;
    DType grad_dtype = kFloat32;
};

// w := w - lr * (g + weight_decay * w)
struct GDHyper {
    double lr;
    double weight_decay;
};

// v := beta * v + grad_scale * g; w := w - lr * d, d = v, or beta * v + grad_scale * g
// (Nesterov). grad_scale is 1 - beta for the "ema" form and 1 for the "sum" form.
// state[0] = v
struct MomentumHyper {
    double lr;
    double beta;
    double grad_scale;
    double weight_decay;
    bool nesterov;
};

// state[0] = s (square average), state[1] = grad average (centered), state[2] = momentum buffer
struct RMSpropHyper {
    double lr;
    double beta2;
    double one_minus_beta2;
    double eps;
    double eps_root;
    double weight_decay;
    double momentum;
    bool centered;
    bool use_momentum;
};

// state[0] = m, state[1] = v, state[2] = v_max (AMSGrad)
struct AdamHyper {
    double lr;
    double beta1;
    double one_minus_beta1;
    double beta2;
    double one_minus_beta2;
    double eps;
    double eps_root;
    double weight_decay;  // L2: added to g
    double decay;         // decoupled: w := w * decay, decay = 1 - lr * weight_decay
    double bias_correction1;  // 1 - beta1^t
    double bias_correction2;  // 1 - beta2^t
    bool decoupled;
    bool amsgrad;
};

// param = the running average v (written), grad = the new value x,
// state[0] = optional output (v / bias_correction, or v).
struct EMAHyper {
    double beta;
    double one_minus_beta;
    double bias_correction;  // 1 - beta^t; 0 means "no correction"
    bool write_output;
};

// A whole-series exponentially weighted average scan over a (outer, length, inner) array.
struct EWMAScan {
    const void* x = nullptr;
    void* out = nullptr;
    std::size_t outer = 0, length = 0, inner = 0;
    double beta = 0, one_minus_beta = 0;
    const double* bias_correction = nullptr;  // length values 1 - beta^(t+1), or null
};

// The bandwidth probe (probe.cpp): read_write buffers updated in place, write_only buffers
// written, read_only buffers read, each written value scale * (sum of the values read).
// Stream k lives in the Slot as param, state[0], state[1], state[2], param_copy, grad.
constexpr int kProbeMaxStreams = 6;
struct ProbeHyper {
    int read_write;
    int write_only;
    int read_only;
    double scale;
};

// dst = np.take(src, indices, axis) as a copy of bytes (gather.cpp). The source is `rows`
// rows of `length` units of `unit` bytes; the destination `rows` rows of `count` units;
// indices[j] (int32 or int64, every one already checked to lie in [-length, length))
// picks the unit of each source row that lands at position j of the destination row.
// Rows of an (m, n) array gathered along axis 0 are single units of n * itemsize bytes.
struct Gather {
    const void* src = nullptr;
    void* dst = nullptr;
    const void* indices = nullptr;
    bool indices64 = true;
    std::size_t rows = 1, length = 0, count = 0, unit = 0;
};

// gather_elems splits each destination row into blocks of this many indices; each
// (row, block) pair is one work item for the threads.
constexpr std::size_t kGatherBlock = 4096;

// gather_cols_tiled transposes blocks of kGatherTileBytes / unit source rows into a
// scratch buffer of length * kGatherTileBytes bytes (one per thread), see gather.cpp.
constexpr std::size_t kGatherTileBytes = 64;

// gather_elems has one kernel per unit size, indexed by log2(unit): 1, 2, 4, 8, 16 bytes.
constexpr int kNumGatherUnits = 5;

template <class H>
using UpdateKernel = void (*)(const H&, const Slot&, std::size_t, std::size_t);

// The inner dimension of an ewma scan is cut into blocks of this many elements; each
// (outer, block) pair is one work item for the threads.
constexpr std::size_t kEWMABlock = 64;

struct KernelTable {
    const char* isa;
    UpdateKernel<GDHyper> gd[kNumDTypes];
    UpdateKernel<MomentumHyper> momentum[kNumDTypes];
    UpdateKernel<RMSpropHyper> rmsprop[kNumDTypes];
    UpdateKernel<AdamHyper> adam[kNumDTypes];
    UpdateKernel<EMAHyper> ema[kNumDTypes];
    UpdateKernel<ProbeHyper> probe[kNumDTypes];
    // items are (outer, inner block) pairs, see kEWMABlock
    void (*ewma_scan[kNumDTypes])(const EWMAScan&, std::size_t item_begin, std::size_t item_end);
    // true when data[begin, end) holds no NaN or infinity
    bool (*all_finite[kNumDTypes])(const void* data, std::size_t begin, std::size_t end);
    // smallest and largest of int32 [0] or int64 [1] indices[begin, end), begin < end
    void (*index_bounds[2])(const void* indices, std::size_t begin, std::size_t end, std::int64_t* lo,
                            std::int64_t* hi);
    // whole rows [begin, end) of the destination (unit = the row's bytes, rows == 1)
    void (*gather_rows)(const Gather&, std::size_t begin, std::size_t end);
    // items are (row, block of kGatherBlock indices) pairs
    void (*gather_elems[kNumGatherUnits])(const Gather&, std::size_t item_begin, std::size_t item_end);
    // items are blocks of kGatherTileBytes / unit rows; scratch holds length * kGatherTileBytes bytes
    void (*gather_cols_tiled[kNumGatherUnits])(const Gather&, std::size_t block_begin, std::size_t block_end,
                                                void* scratch);
};

// One table per compiled ISA; those not compiled for this architecture return null.
const KernelTable* kernel_table_baseline();
const KernelTable* kernel_table_avx2();
const KernelTable* kernel_table_avx512();

}  // namespace simdoptim
