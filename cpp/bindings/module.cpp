// module.cpp - simdoptim._core: picks the kernel path for this CPU, then adds the functions
// every binding source registered (SIMDOPTIM_BINDING).
#include <stdexcept>

#include "../runtime/dispatch.h"
#include "checks.h"

PYBIND11_MODULE(_core, m) {
    m.doc() = "simdoptim's compiled kernels; use the simdoptim package, not this module directly.";
    try {
        simdoptim::runtime::init_dispatch();
    } catch (const std::invalid_argument& e) {
        throw pybind11::import_error(std::string("simdoptim: ") + e.what());
    }
    simdoptim::bindings::bind_all(m);
}
