// module.cpp - simdoptim._core: picks the kernel table for this CPU, then registers the areas.
#include <stdexcept>

#include "../runtime/dispatch.h"
#include "register.h"

PYBIND11_MODULE(_core, m) {
    m.doc() = "simdoptim's compiled kernels; use the simdoptim package, not this module directly.";
    try {
        simdoptim::runtime::init_dispatch();
    } catch (const std::invalid_argument& e) {
        throw pybind11::import_error(std::string("simdoptim: ") + e.what());
    }
    simdoptim::bindings::register_runtime(m);
    simdoptim::bindings::register_optimizers(m);
    simdoptim::bindings::register_ema(m);
    simdoptim::bindings::register_bench(m);
    simdoptim::bindings::register_batching(m);
}
