// register.h - one register_* function per area of the module.
#pragma once
#include <pybind11/pybind11.h>

namespace simdoptim {
namespace bindings {
void register_runtime(pybind11::module_& m);
void register_optimizers(pybind11::module_& m);
void register_ema(pybind11::module_& m);
void register_bench(pybind11::module_& m);
void register_batching(pybind11::module_& m);
}  // namespace bindings
}  // namespace simdoptim
