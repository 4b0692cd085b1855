// kernels.h - the ISA-neutral boundary between the bindings and the kernels.
//
// Kernels see raw pointers, element counts and plain double scalars, never pybind11 or
// NumPy types. An update kernel has the signature
//     void kernel(const Slot&, std::size_t begin, std::size_t end)
// and updates elements [begin, end) of one tensor with the hyper-parameters of the tensor's
// group (Slot::hyper points at the algorithm's Hyper struct, declared in the algorithm's own
// header, e.g. adam.h). The runtime can therefore split one tensor, or every tensor of every
// group, across threads however it likes without changing a bit of the result: the updates
// are element-wise and the tail runs the same expression as the vector body.
//
// Hyper-parameters arrive as doubles; each kernel casts them to its compute type once, as
// NumPy casts a Python float. Per-step scalars (bias corrections, decay factors) are
// computed once in float64 by the binding before the kernel is called.
//
// Registration (in the spirit of Highway's HWY_EXPORT and PyTorch's REGISTER_DISPATCH): each
// kernel source ends with a constant table of its entry points, keyed by name and dtypes,
// handed to SIMDOPTIM_REGISTER_KERNELS. Every source is compiled once per ISA, so every ISA
// registers its own table; the runtime (runtime/dispatch.cpp) looks kernels up by name in
// the table of the active ISA. A new algorithm is its kernel source and its binding; no
// central table lists it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace simdoptim {

// Element types of parameters, gradients and state. float16/bfloat16 are computed in
// float32 (load, convert exactly, compute, round once when storing).
enum DType : std::uint8_t { kFloat32 = 0, kFloat64 = 1, kBFloat16 = 2, kFloat16 = 3, kNumDTypes = 4, kNoDType = 255 };

constexpr std::size_t dtype_size(DType d) { return d == kFloat64 ? 8 : (d == kFloat32 ? 4 : 2); }

// What every update kernel applies in a step besides its algorithm, per parameter group
// (SPEC sections 11 and 12): the gradient is unscaled and clipped first, g := g / grad_scale
// (when unscale), then g := g * clip (when clip_on), both in the compute type; stores to
// float16/bfloat16 round to nearest even, or stochastically (lowp.h) with random bits keyed
// by (seed, step, Slot::index, element).
struct StepCommon {
    double grad_scale = 1.0;
    double clip = 1.0;
    std::uint64_t seed = 0;
    std::uint64_t step = 0;
    bool unscale = false;
    bool clip_on = false;
    bool stochastic = false;
};

// The buffers of one tensor of a step. Every pointer addresses n elements in the same
// memory order. param is updated in place (with master weights it is the float32 master);
// param_copy, when not null, receives the updated parameter rounded to copy_dtype in the
// same pass (the user's low-precision parameter). state[k] is null when the tensor's group
// does not use that buffer.
struct Slot {
    void* param = nullptr;
    const void* grad = nullptr;
    void* state[3] = {nullptr, nullptr, nullptr};
    void* param_copy = nullptr;
    std::size_t n = 0;
    DType param_dtype = kFloat32;
    DType grad_dtype = kFloat32;
    DType state_dtype = kFloat32;
    DType copy_dtype = kNoDType;
    std::uint32_t index = 0;      // the tensor's position in the call (keys per-tensor random streams)
    const void* hyper = nullptr;  // the algorithm's Hyper struct for this tensor's group
    const StepCommon* common = nullptr;  // the group's StepCommon of this step (null: all off)
};

// The dtypes an update kernel is instantiated for.
struct DTypes {
    DType param = kFloat32;
    DType grad = kFloat32;
    DType state = kFloat32;
};
constexpr bool operator==(DTypes a, DTypes b) { return a.param == b.param && a.grad == b.grad && a.state == b.state; }
constexpr DTypes same_dtypes(DType d) { return DTypes{d, d, d}; }

// A whole-series exponentially weighted average scan over a (outer, length, inner) array.
struct EWMAScan {
    const void* x = nullptr;
    void* out = nullptr;
    std::size_t outer = 0, length = 0, inner = 0;
    double beta = 0, one_minus_beta = 0;
    // bias_correction[t] = 1 - beta^(t+1) for t < corrected (null: no correction); from
    // t = corrected on, 1 - beta^(t+1) is exactly 1 and the division is skipped (x / 1 == x)
    const double* bias_correction = nullptr;
    std::size_t corrected = 0;
    // inner > 1: the inner dimension is cut into blocks of `block` (<= kEWMABlock) elements;
    // each (outer, block) pair is one work item for the threads
    std::size_t block = 1;
};
constexpr std::size_t kEWMABlock = 2048;

// dst = np.take(src, indices, axis) as a copy of bytes (take.cpp). The source is `rows`
// rows of `length` units of `unit` bytes; the destination `rows` rows of `count` units;
// indices[j] (int32 or int64, every one already checked to lie in [-length, length))
// picks the unit of each source row that lands at position j of the destination row.
// Rows of an (m, n) array gathered along axis 0 are single units of n * itemsize bytes.
// Both sides are addressed through byte strides (negative ones too), so a Fortran-ordered,
// transposed or sliced source is read where it lies, never copied first: unit r, j of the
// source is at src + r * src_row + j * src_unit, of the destination at dst + r * dst_row +
// j * dst_unit.
struct Gather {
    const void* src = nullptr;
    void* dst = nullptr;
    const void* indices = nullptr;
    bool indices64 = true;
    std::size_t rows = 1, length = 0, count = 0, unit = 0;
    std::ptrdiff_t src_row = 0, src_unit = 0, dst_row = 0, dst_unit = 0;
};
// take_elems splits each destination row into blocks of this many indices; each
// (row, block) pair is one work item for the threads.
constexpr std::size_t kGatherBlock = 4096;
// take_cols_tiled transposes blocks of kGatherTileBytes / unit source rows into a
// scratch buffer of length * kGatherTileBytes bytes (one per thread), see take.cpp.
constexpr std::size_t kGatherTileBytes = 64;

// The global gradient norm (SPEC 12) is summed in blocks of this many elements of each
// tensor; block sums are combined in (tensor, block) order, so the sum does not depend on
// the thread split.
constexpr std::size_t kNormBlock = 2048;

// The kinds of entry point a kernel source can register.
using UpdateFn = void (*)(const Slot&, std::size_t begin, std::size_t end);
// true when data[begin, end) holds no NaN or infinity
using FiniteFn = bool (*)(const void* data, std::size_t begin, std::size_t end);
// items are (outer, inner block) pairs, see EWMAScan::block
using EWMAScanFn = void (*)(const EWMAScan&, std::size_t item_begin, std::size_t item_end);
// smallest and largest index of indices[begin, end), begin < end
using IndexBoundsFn = void (*)(const void* indices, std::size_t begin, std::size_t end, std::int64_t* lo,
                               std::int64_t* hi);
// work items [begin, end) of a gather (rows, (row, block) pairs, ... see take.cpp)
using GatherFn = void (*)(const Gather&, std::size_t begin, std::size_t end);
// blocks [begin, end) of rows through a scratch tile of length * kGatherTileBytes bytes
using GatherTiledFn = void (*)(const Gather&, std::size_t begin, std::size_t end, void* scratch);
// sum over the elements [begin, end) of one block (begin a multiple of kNormBlock, end at
// most kNormBlock further) of (g / grad_scale)^2 in float64, in the order of
// reference.grad_norm; c may be null (no unscaling)
using SumSqFn = double (*)(const void* grad, std::size_t begin, std::size_t end, const StepCommon* c);

// One registered entry point: a name, the dtypes (update kernels) or a variant number
// (the unit size of a gather, the index width of index_bounds), and one function.
struct KernelEntry {
    const char* name;
    DTypes dtypes;
    int variant;
    UpdateFn update;
    FiniteFn finite;
    EWMAScanFn ewma_scan;
    IndexBoundsFn index_bounds;
    GatherFn gather;
    GatherTiledFn gather_tiled;
    SumSqFn sumsq;
};

constexpr KernelEntry update_kernel(const char* name, DTypes d, UpdateFn f) {
    return {name, d, 0, f, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
}
constexpr KernelEntry finite_kernel(const char* name, DType d, FiniteFn f) {
    return {name, same_dtypes(d), 0, nullptr, f, nullptr, nullptr, nullptr, nullptr, nullptr};
}
constexpr KernelEntry ewma_kernel(const char* name, DType d, EWMAScanFn f) {
    return {name, same_dtypes(d), 0, nullptr, nullptr, f, nullptr, nullptr, nullptr, nullptr};
}
constexpr KernelEntry index_bounds_kernel(const char* name, int index_bytes, IndexBoundsFn f) {
    return {name, DTypes{}, index_bytes, nullptr, nullptr, nullptr, f, nullptr, nullptr, nullptr};
}
constexpr KernelEntry gather_kernel(const char* name, int unit, GatherFn f) {
    return {name, DTypes{}, unit, nullptr, nullptr, nullptr, nullptr, f, nullptr, nullptr};
}
constexpr KernelEntry gather_tiled_kernel(const char* name, int unit, GatherTiledFn f) {
    return {name, DTypes{}, unit, nullptr, nullptr, nullptr, nullptr, nullptr, f, nullptr};
}
constexpr KernelEntry sumsq_kernel(const char* name, DType d, SumSqFn f) {
    return {name, same_dtypes(d), 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, f};
}

// Adds a table of entries to the registry of the named ISA. Defined in runtime/dispatch.cpp,
// which is compiled for the baseline; the tables are constant data, so the only code a
// per-ISA object runs at load time is this call (test_portable.py checks its disassembly).
int register_kernels(const char* isa, const KernelEntry* entries, std::size_t count) noexcept;

}  // namespace simdoptim

#define SIMDOPTIM_KSTR2(x) #x
#define SIMDOPTIM_KSTR(x) SIMDOPTIM_KSTR2(x)
// At the end of a kernel source, at namespace scope inside simdoptim::SIMDOPTIM_TARGET:
//     constexpr KernelEntry kKernels[] = {update_kernel("adam", ..., adam<float>), ...};
//     SIMDOPTIM_REGISTER_KERNELS(kKernels)
#define SIMDOPTIM_REGISTER_KERNELS(table)                                                          \
    namespace {                                                                                    \
    [[maybe_unused]] const int registered_##table =                                                \
        ::simdoptim::register_kernels(SIMDOPTIM_KSTR(SIMDOPTIM_TARGET), table, sizeof(table) / sizeof(table[0])); \
    }
