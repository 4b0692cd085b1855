// gd.cpp - plain (mini-batch) gradient descent: w := w - lr * (g + weight_decay * w).
// Reads w and g, writes w: 12 bytes per fp32 element. Mirrors reference.gd_update.
//
// One template for every dtype combination (P the parameter's element type, G the
// gradient's; lowp.h): EXTRAS adds the gradient's unscaling and clipping, stochastic
// rounding of a float16/bfloat16 parameter (stream 0) and a float32 master's copy; without
// it the loop is the plain float32/float64 one.
#include "gd.h"

#include "lowp.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

template <class P, class G, bool WD, bool EXTRAS>
void gd_range(const GDHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    using T = compute_t<P>;
    P* __restrict w = static_cast<P*>(s.param);
    const G* __restrict g = static_cast<const G*>(s.grad);
    const T lr = T(h.lr), wd = T(h.weight_decay);
    const GradPrologue<T> prologue(EXTRAS ? s.common : nullptr, true);
    const bool stochastic = EXTRAS && is_lowp<P> && s.common && s.common->stochastic;
    void* const copy = EXTRAS ? s.param_copy : nullptr;
    const DType copy_dtype = s.copy_dtype;
    alignas(64) std::uint32_t rnd[4][kRandomBatch];
    for_each_element<T>(s, begin, end, stochastic, 1u, rnd, [&](auto tag, std::size_t i, std::size_t j) SIMDOPTIM_BODY {
        using V = decltype(tag);
        V wi = load_as<V>(w + i);
        V gi = load_as<V>(g + i);
        if constexpr (EXTRAS) gi = prologue(gi);       // g = g / S; g = g * clip
        if constexpr (WD) gi = gi + V::set1(wd) * wi;  // g = g + wd * w
        wi = wi - V::set1(lr) * gi;                     // w = w - lr * g
        store_rounded(w + i, wi, stochastic, rnd[0] + j);
        if constexpr (EXTRAS) write_copy<P>(copy, copy_dtype, i, wi);
    });
}

template <class P, class G>
void gd(const GDHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    const bool extras = is_lowp<P> || is_lowp<G> || needs_extras(s);
    const bool wd = h.weight_decay != 0.0;
    if (extras) return wd ? gd_range<P, G, true, true>(h, s, begin, end) : gd_range<P, G, false, true>(h, s, begin, end);
    if constexpr (!is_lowp<P> && !is_lowp<G>) {
        if (wd) return gd_range<P, G, true, false>(h, s, begin, end);
        gd_range<P, G, false, false>(h, s, begin, end);
    }
}

// no state: the state dtype of a registration is the parameter's
constexpr KernelEntry kKernels[] = {
    update_kernel("gd", same_dtypes(kFloat32), with_hyper<GDHyper, gd<float, float>>),
    update_kernel("gd", same_dtypes(kFloat64), with_hyper<GDHyper, gd<double, double>>),
    update_kernel("gd", DTypes{kFloat32, kBFloat16, kFloat32}, with_hyper<GDHyper, gd<float, bf16>>),
    update_kernel("gd", DTypes{kFloat32, kFloat16, kFloat32}, with_hyper<GDHyper, gd<float, f16>>),
    update_kernel("gd", same_dtypes(kBFloat16), with_hyper<GDHyper, gd<bf16, bf16>>),
    update_kernel("gd", same_dtypes(kFloat16), with_hyper<GDHyper, gd<f16, f16>>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
