// round.cpp - float32 -> float16/bfloat16 with the stores of lowp.h: the kernel behind the
// private _core._round, which the tests use to compare every path's conversions (nearest and
// stochastic, with the random bits of any tensor and step) with reference.round_to over
// every exponent and rounding boundary. Slot: grad = the float32 source, param = the
// destination, index = the tensor, state[0] = the stream number (as an integer), common =
// rounding, seed and step.
#include <algorithm>

#include "lowp.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class E>
void round_range(const Slot& s, std::size_t begin, std::size_t end) {
    const float* __restrict x = static_cast<const float*>(s.grad);
    E* __restrict y = static_cast<E*>(s.param);
    const bool stochastic = s.common && s.common->stochastic;
    if (!stochastic) {
        for_each_lane_block<float>(begin, end, [&](auto tag, std::size_t i) {
            using V = decltype(tag);
            store_nearest(y + i, load_as<V>(x + i));
        });
        return;
    }
    alignas(64) std::uint32_t rnd[kRandomBatch];
    for (std::size_t b0 = begin; b0 < end;) {
        const std::size_t base = b0 / kRandomBatch * kRandomBatch, b1 = std::min(end, base + kRandomBatch);
        fill_random(rnd, base, s.index, std::uint32_t(reinterpret_cast<std::uintptr_t>(s.state[0])), s.common->step,
                    s.common->seed);
        for_each_lane_block<float>(b0, b1, [&](auto tag, std::size_t i) {
            using V = decltype(tag);
            store_stochastic(y + i, load_as<V>(x + i), rnd + (i - base));
        });
        b0 = b1;
    }
}

constexpr KernelEntry kKernels[] = {
    update_kernel("round", DTypes{kBFloat16, kFloat32, kFloat32}, round_range<bf16>),
    update_kernel("round", DTypes{kFloat16, kFloat32, kFloat32}, round_range<f16>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
