// dispatch.h - which kernels run: the widest ISA this CPU supports, chosen once at import,
// lowered by SIMDOPTIM_ISA=baseline|avx2|avx512 (like NumPy's NPY_DISABLE_CPU_FEATURES or
// PyTorch's ATEN_CPU_CAPABILITY). Kernels are looked up by name in the registry that the
// kernel sources fill (kernels.h, SIMDOPTIM_REGISTER_KERNELS), one table per compiled ISA.
#pragma once

#include <string>
#include <vector>

#include "../kernels/kernels.h"

namespace simdoptim {
namespace runtime {

// Reads SIMDOPTIM_ISA and selects the path; throws std::invalid_argument with a clear
// message when the variable names an unknown path or one this CPU cannot run.
void init_dispatch();

// The entry registered under `name` for these dtypes (update kernels, all_finite, ewma) or
// this variant (gathers: unit size; index_bounds: index width) on the active path, or null.
const KernelEntry* find_kernel(const char* name, DTypes dtypes, int variant = 0);
// Every entry registered under `name` on the active path (empty if none).
const std::vector<const KernelEntry*>& kernels_named(const std::string& name);

// Bumped on every change of path, so that callers caching kernels know to look again.
unsigned isa_generation();

// Paths compiled into this build and runnable on this CPU, narrowest first.
std::vector<std::string> available_isas();
// Paths compiled into this build, whatever the CPU.
std::vector<std::string> compiled_isas();
// The CPU features the choice is based on (name -> present).
std::vector<std::pair<std::string, bool>> cpu_features();

// Switches the active path (tests use it to run every path in one process).
void select_isa(const std::string& name);
std::string active_isa();

}  // namespace runtime
}  // namespace simdoptim
