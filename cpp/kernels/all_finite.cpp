// all_finite.cpp - whether a buffer holds no NaN and no infinity: x - x is 0 for a finite
// x and NaN otherwise, tested a vector at a time. Mirrors reference.all_finite; the
// optimizers use it for nonfinite="skip"/"raise".
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class T>
bool all_finite(const void* data, std::size_t begin, std::size_t end) {
    const T* p = static_cast<const T*>(data);
    bool ok = true;
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        ok &= all_finite(V::load(p + i));
    });
    return ok;
}

constexpr KernelEntry kKernels[] = {
    finite_kernel("all_finite", kFloat32, all_finite<float>),
    finite_kernel("all_finite", kFloat64, all_finite<double>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
