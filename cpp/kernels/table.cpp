// table.cpp - the function table of one ISA. Compiled once per ISA like every kernel
// source; the runtime picks one table at import (runtime/dispatch.cpp).
#include "kernels.h"

#define SIMDOPTIM_CAT2(a, b) a##b
#define SIMDOPTIM_CAT(a, b) SIMDOPTIM_CAT2(a, b)

namespace simdoptim {
namespace SIMDOPTIM_TARGET {

void gd_f32(const GDHyper&, const Slot&, std::size_t, std::size_t);
void gd_f64(const GDHyper&, const Slot&, std::size_t, std::size_t);
void momentum_f32(const MomentumHyper&, const Slot&, std::size_t, std::size_t);
void momentum_f64(const MomentumHyper&, const Slot&, std::size_t, std::size_t);
void rmsprop_f32(const RMSpropHyper&, const Slot&, std::size_t, std::size_t);
void rmsprop_f64(const RMSpropHyper&, const Slot&, std::size_t, std::size_t);
void adam_f32(const AdamHyper&, const Slot&, std::size_t, std::size_t);
void adam_f64(const AdamHyper&, const Slot&, std::size_t, std::size_t);
void ema_f32(const EMAHyper&, const Slot&, std::size_t, std::size_t);
void ema_f64(const EMAHyper&, const Slot&, std::size_t, std::size_t);
void probe_f32(const ProbeHyper&, const Slot&, std::size_t, std::size_t);
void probe_f64(const ProbeHyper&, const Slot&, std::size_t, std::size_t);
void ewma_scan_f32(const EWMAScan&, std::size_t, std::size_t);
void ewma_scan_f64(const EWMAScan&, std::size_t, std::size_t);
bool all_finite_f32(const void*, std::size_t, std::size_t);
bool all_finite_f64(const void*, std::size_t, std::size_t);
void index_bounds_i32(const void*, std::size_t, std::size_t, std::int64_t*, std::int64_t*);
void index_bounds_i64(const void*, std::size_t, std::size_t, std::int64_t*, std::int64_t*);
void gather_rows(const Gather&, std::size_t, std::size_t);
void gather_elems_1(const Gather&, std::size_t, std::size_t);
void gather_elems_2(const Gather&, std::size_t, std::size_t);
void gather_elems_4(const Gather&, std::size_t, std::size_t);
void gather_elems_8(const Gather&, std::size_t, std::size_t);
void gather_elems_16(const Gather&, std::size_t, std::size_t);
void gather_cols_tiled_1(const Gather&, std::size_t, std::size_t, void*);
void gather_cols_tiled_2(const Gather&, std::size_t, std::size_t, void*);
void gather_cols_tiled_4(const Gather&, std::size_t, std::size_t, void*);
void gather_cols_tiled_8(const Gather&, std::size_t, std::size_t, void*);
void gather_cols_tiled_16(const Gather&, std::size_t, std::size_t, void*);

#define SIMDOPTIM_STR2(x) #x
#define SIMDOPTIM_STR(x) SIMDOPTIM_STR2(x)

static const KernelTable table = {
    SIMDOPTIM_STR(SIMDOPTIM_TARGET),
    {gd_f32, gd_f64},
    {momentum_f32, momentum_f64},
    {rmsprop_f32, rmsprop_f64},
    {adam_f32, adam_f64},
    {ema_f32, ema_f64},
    {probe_f32, probe_f64},
    {ewma_scan_f32, ewma_scan_f64},
    {all_finite_f32, all_finite_f64},
    {index_bounds_i32, index_bounds_i64},
    gather_rows,
    {gather_elems_1, gather_elems_2, gather_elems_4, gather_elems_8, gather_elems_16},
    {gather_cols_tiled_1, gather_cols_tiled_2, gather_cols_tiled_4, gather_cols_tiled_8, gather_cols_tiled_16},
};

}  // namespace SIMDOPTIM_TARGET

const KernelTable* SIMDOPTIM_CAT(kernel_table_, SIMDOPTIM_TARGET)() { return &SIMDOPTIM_TARGET::table; }

}  // namespace simdoptim
