// ewma.cpp - simdoptim._core.ewma_scan: the whole-series exponentially weighted average
// along an axis, written into a preallocated output (simdoptim.ewma allocates it and
// converts dtypes). Kernel: kernels/ewma.cpp; reference: reference.ewma.
#include <algorithm>
#include <cmath>

#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "checks.h"

namespace simdoptim {
namespace bindings {
namespace {

void ewma_scan(py::object x_obj, py::object out_obj, Real beta, int axis, Flag bias_correction) {
    const std::string func = "ewma";
    if (!py::isinstance<py::array>(x_obj) || !py::isinstance<py::array>(out_obj))
        type_error(func, "series and out must be numpy arrays");
    py::array x = py::reinterpret_borrow<py::array>(x_obj);
    py::array out = py::reinterpret_borrow<py::array>(out_obj);
    const DType dt = dtype_of(x.dtype());
    if ((dt != kFloat32 && dt != kFloat64) || !out.dtype().equal(x.dtype()))
        type_error(func, "series must be float32 or float64 and out of the same dtype");
    if (!is_c_contig(x) || !is_aligned(x) || x.ndim() == 0)
        value_error(func, "series must be a C-contiguous aligned array with at least one dimension");
    if (!is_c_contig(out) || !is_aligned(out) || !out.writeable() || out.ndim() != x.ndim() ||
        !std::equal(x.shape(), x.shape() + x.ndim(), out.shape()))
        value_error(func, "out must be a writeable C-contiguous array of the series' shape");
    std::vector<Interval> iv{{span_of(out), true, "out", 0}, {span_of(x), false, "series", 0}};
    iv.erase(std::remove_if(iv.begin(), iv.end(), [](const Interval& v) { return v.span.empty(); }), iv.end());
    check_no_overlap(func, Labels{py::none()}, iv);
    const int nd = int(x.ndim());
    if (axis < -nd || axis >= nd)
        throw py::index_error("ewma: axis " + std::to_string(axis) + " is out of bounds for an array of dimension " +
                              std::to_string(nd));
    if (axis < 0) axis += nd;
    EWMAScan a;
    a.x = x.data();
    a.out = out.mutable_data();
    a.outer = 1;
    a.inner = 1;
    for (int d = 0; d < axis; ++d) a.outer *= std::size_t(x.shape(d));
    a.length = std::size_t(x.shape(axis));
    for (int d = axis + 1; d < nd; ++d) a.inner *= std::size_t(x.shape(d));
    a.beta = beta;
    a.one_minus_beta = 1.0 - beta;
    // an empty array (possibly with a huge time axis, e.g. shape (0, 2**45)) has nothing to
    // scan: return before sizing the bias-correction table by the axis length
    if (a.outer * a.length * a.inner == 0) return;
    std::vector<double> bc;
    if (bias_correction) {
        // 1 - beta^(t+1) as the reference computes it (libm pow, float64), up to the step
        // where beta^(t+1) < 2^-60: from there on 1 - beta^(t+1) rounds to exactly 1 (beta^t
        // only falls), so the table stays short whatever the series' length (it was one
        // pow per time step, serial, more time than the scan itself for long series)
        for (std::size_t t = 0; t < a.length; ++t) {
            const double p = std::pow(double(beta), double(t + 1));
            if (p < 0x1p-60) break;
            bc.push_back(1.0 - p);
        }
        a.bias_correction = bc.data();
        a.corrected = bc.size();
        static const double one = 1.0;
        if (bc.empty()) a.bias_correction = &one;  // not null: correction on, every divisor 1
    }
    auto scan = runtime::find_kernel("ewma", same_dtypes(dt))->ewma_scan;
    // series side by side (inner > 1): blocks of adjacent series, as wide as possible (each
    // time step then streams a long contiguous piece of the row) while every thread still
    // gets a couple of blocks; multiples of 16 elements keep the vector loop whole
    const std::size_t nt = std::size_t(runtime::threads_for(a.outer * a.length * a.inner, runtime::Work::kScan));
    if (a.inner > 1) {
        const std::size_t per_outer = (2 * nt + a.outer - 1) / a.outer;  // blocks wanted per outer index
        std::size_t b = (a.inner + per_outer - 1) / per_outer;
        b = std::min(kEWMABlock, std::max<std::size_t>(16, (b + 15) / 16 * 16));
        a.block = b;
    }
    const std::size_t blocks = a.inner == 1 ? 1 : (a.inner + a.block - 1) / a.block;
    const std::size_t per_item = a.length * (a.inner == 1 ? 1 : std::min(a.inner, a.block));
    ReleasedGIL nogil;
    if (a.inner == 1) {
        // rows go to the threads in groups of 16, the kernel's vector group (kernels/ewma.cpp)
        constexpr std::size_t kGroup = 16;
        const std::size_t groups = (a.outer + kGroup - 1) / kGroup;
        runtime::parallel_items(groups, per_item * kGroup, [&](std::size_t b, std::size_t e) {
            scan(a, b * kGroup, std::min(e * kGroup, a.outer));
        }, runtime::Work::kScan);
        return;
    }
    runtime::parallel_items(a.outer * blocks, per_item, [&](std::size_t b, std::size_t e) { scan(a, b, e); },
                            runtime::Work::kScan);
}

}  // namespace

SIMDOPTIM_BINDING(ewma) {
    using namespace py::literals;
    m.def("ewma_scan", &ewma_scan, "series"_a, "out"_a, py::kw_only(), "beta"_a, "axis"_a = -1,
          "bias_correction"_a = true,
          "Private: the whole-series exponentially weighted average along an axis, written into out. "
          "Use simdoptim.ewma, which allocates out and converts dtypes.");
}

}  // namespace bindings
}  // namespace simdoptim
