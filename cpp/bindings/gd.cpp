// gd.cpp - gradient descent as an algorithm of the optimizer core (plan.h):
// w := w - lr * (g + weight_decay * w). Kernel: kernels/gd.cpp; reference: reference.gd_update.
#include "../kernels/gd.h"
#include "plan.h"

namespace simdoptim {
namespace bindings {
namespace {

// fields: lr, weight_decay
void build(const double* v, long long, void* out) {
    GDHyper& h = *static_cast<GDHyper*>(out);
    h.lr = v[0];
    h.weight_decay = v[1];
}

}  // namespace

SIMDOPTIM_BINDING(gd) {
    (void)m;
    register_op({"gd", {"lr", "weight_decay"}, {}, sizeof(GDHyper), build, nullptr,
                 kOpGradPrologue | kOpCopies});
}

}  // namespace bindings
}  // namespace simdoptim
