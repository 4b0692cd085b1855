// take.cpp - take(X, indices, axis=0, out=None): np.take for 1-D and 2-D arrays of any
// strides (read where they lie: NumPy's np.take first copies a non-contiguous X whole),
// gathered by the threads with the GIL released.
//
// Everything is checked before a byte is written, in the order and with the messages of
// simdoptim.reference.take (so both backends refuse the same calls the same way); the
// indices are range-checked in one pass. Then the call becomes one of three kernels
// (kernels.h, Gather; gather.cpp): whole rows; single units of 1-16 bytes, which covers
// 1-D arrays, rows narrow enough to be one unit (an (m, 1) float32 label column) and
// columns of short rows; or, for the columns of a wide array, transposed tiles.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "../runtime/dispatch.h"
#include "../runtime/parallel.h"
#include "../runtime/scratch.h"
#include "checks.h"

namespace simdoptim {
namespace bindings {
namespace {

[[noreturn]] void type_error(const std::string& msg) { throw py::type_error("take: " + msg); }
[[noreturn]] void value_error(const std::string& msg) { throw py::value_error("take: " + msg); }

std::string repr_of(py::handle obj) { return py::str(obj); }

bool is_int_scalar(py::handle obj) {
    if (PyBool_Check(obj.ptr())) return false;
    if (PyLong_Check(obj.ptr())) return true;
    static py::object np_integer = py::module_::import("numpy").attr("integer");
    return py::isinstance(obj, np_integer);
}

int unit_log2(std::size_t bytes) {
    switch (bytes) {
        case 1: return 0;
        case 2: return 1;
        case 4: return 2;
        case 8: return 3;
        case 16: return 4;
        default: return -1;
    }
}

// When to gather columns through transposed tiles (gather.cpp) rather than element by
// element: the source rows are too long to stay in L2 while they are read at random,
// there are enough rows to fill most of a tile, and enough indices to repay the transpose.
// The tiles take `threads * m * 64` bytes, allowed up to an eighth of the result (or 8 MiB),
// so the gather never needs much more memory than the result it returns.
bool tiled_columns(std::size_t n, std::size_t m, std::size_t k, std::size_t itemsize, std::size_t threads) {
    const std::size_t R = kGatherTileBytes / itemsize;
    const std::size_t scratch = threads * m * kGatherTileBytes, result = n * k * itemsize;
    // transposing the whole source pays off only when a good share of it is gathered
    return m * itemsize > (std::size_t(512) << 10) && 2 * n >= R && 8 * k >= m &&
           (scratch <= result / 8 || scratch <= runtime::Scratch::kKeepBytes);
}

bool c_contiguous(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }

// First and one-past-last byte of an array (any strides), for the overlap check.
std::pair<std::uintptr_t, std::uintptr_t> span(const py::array& a) {
    const Span s = span_of(a);
    return {s.lo, s.hi};
}

// Position of the first index outside [-m, m), or -1. The bounds are found in one
// vectorised pass split across the threads; the position is looked for only on failure.
std::ptrdiff_t first_out_of_range(const void* indices, bool idx64, std::size_t k, std::int64_t m) {
    if (k == 0) return -1;
    const IndexBoundsFn bounds = runtime::find_kernel("index_bounds", DTypes{}, idx64 ? 8 : 4)->index_bounds;
    std::int64_t lo = 0, hi = 0;
    bounds(indices, 0, 1, &lo, &hi);
    std::mutex merge;
    runtime::parallel_items(k, 1, [&](std::size_t b, std::size_t e) {
        std::int64_t l, h;
        bounds(indices, b, e, &l, &h);
        std::lock_guard<std::mutex> lock(merge);
        lo = std::min(lo, l);
        hi = std::max(hi, h);
    }, runtime::Work::kRead);
    if (lo >= -m && hi < m) return -1;
    for (std::size_t j = 0; j < k; ++j) {
        const std::int64_t v = idx64 ? static_cast<const std::int64_t*>(indices)[j] : static_cast<const std::int32_t*>(indices)[j];
        if (v < -m || v >= m) return std::ptrdiff_t(j);
    }
    return -1;
}

py::object take(py::object X_obj, py::object idx_obj, py::object axis_obj, py::object out_obj) {
    if (!py::isinstance<py::array>(X_obj)) type_error("X must be a numpy.ndarray, got " + type_name(X_obj));
    py::array X = py::reinterpret_borrow<py::array>(X_obj);
    const int nd = int(X.ndim());
    if (nd != 1 && nd != 2)
        value_error("X must be 1-D or 2-D, got " + std::to_string(nd) + "-D with shape " + repr_of(X.attr("shape")));
    const char kind = X.dtype().kind();
    const std::size_t itemsize = std::size_t(X.itemsize());
    if (std::strchr("biufc", kind) == nullptr || unit_log2(itemsize) < 0)
        type_error("X has dtype " + repr_of(X.dtype()) + "; expected bool or a numeric dtype of 1, 2, 4, 8 or 16 bytes");
    if (!is_int_scalar(axis_obj)) type_error("axis must be an int, got " + type_name(axis_obj));
    long long axis = PyNumber_AsSsize_t(axis_obj.ptr(), nullptr);  // clamped: a huge int is out of bounds
    if (axis == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (axis < -nd || axis >= nd)
        throw py::index_error("take: axis " + std::to_string(axis) + " is out of bounds for an array of dimension " +
                              std::to_string(nd));
    if (axis < 0) axis += nd;
    if (!py::isinstance<py::array>(idx_obj))
        type_error("indices must be a 1-D numpy array of int32 or int64, got " + type_name(idx_obj) +
                   " (convert with np.asarray(indices, dtype=np.int64))");
    py::array idx = py::reinterpret_borrow<py::array>(idx_obj);
    const std::size_t idx_size = std::size_t(idx.itemsize());
    if (idx.dtype().kind() != 'i' || (idx_size != 4 && idx_size != 8) || idx.dtype().byteorder() == '>')
        type_error("indices has dtype " + repr_of(idx.dtype()) + "; expected int32 or int64 (native byte order)");
    if (idx.ndim() != 1) value_error("indices must be 1-D, got shape " + repr_of(idx.attr("shape")));
    // X may have any strides (Fortran order, a transposed or sliced view): the kernels
    // follow them, so a batch costs the same whatever the layout and X is never copied.
    if (!c_contiguous(idx) || !(idx.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        value_error("indices must be contiguous and aligned; pass np.ascontiguousarray(indices)");

    const std::size_t m = std::size_t(X.shape(int(axis)));
    const std::size_t k = std::size_t(idx.shape(0));
    std::vector<py::ssize_t> shape(X.shape(), X.shape() + nd);
    shape[std::size_t(axis)] = py::ssize_t(k);

    py::array out;
    if (!out_obj.is_none()) {
        if (!py::isinstance<py::array>(out_obj)) type_error("out must be a numpy.ndarray or None, got " + type_name(out_obj));
        out = py::reinterpret_borrow<py::array>(out_obj);
        if (!out.dtype().equal(X.dtype()))
            type_error("out has dtype " + repr_of(out.dtype()) + " but X has dtype " + repr_of(X.dtype()) +
                       "; they must be the same");
        if (out.ndim() != nd || !std::equal(shape.begin(), shape.end(), out.shape())) {
            py::tuple expected(nd);
            for (int d = 0; d < nd; ++d) expected[std::size_t(d)] = py::int_(shape[std::size_t(d)]);
            value_error("out has shape " + repr_of(out.attr("shape")) + "; expected " + repr_of(expected));
        }
        if (!out.writeable()) value_error("out is read-only");
        if (!c_contiguous(out)) value_error("out must be C-contiguous");
        const auto o = span(out);
        for (const auto& other : {std::make_pair("X", span(X)), std::make_pair("indices", span(idx))}) {
            const auto s = other.second;
            if (o.first < o.second && s.first < s.second && o.first < s.second && s.first < o.second)
                value_error(std::string("out overlaps ") + other.first + " in memory; pass a separate output array");
        }
    }

    const bool idx64 = idx_size == 8;
    std::ptrdiff_t bad;
    {
        py::gil_scoped_release nogil;
        bad = first_out_of_range(idx.data(), idx64, k, std::int64_t(m));
    }
    if (bad >= 0) {
        const long long v = idx64 ? static_cast<const std::int64_t*>(idx.data())[bad]
                                  : static_cast<const std::int32_t*>(idx.data())[bad];
        throw py::index_error("take: indices[" + std::to_string(bad) + "] = " + std::to_string(v) +
                              " is out of bounds for axis " + std::to_string(axis) + " with size " + std::to_string(m));
    }
    if (out_obj.is_none()) out = py::array(X.dtype(), shape);
    if (out.size() == 0) return std::move(out);

    Gather g;
    g.src = X.data();
    g.dst = out.mutable_data();
    g.indices = idx.data();
    g.indices64 = idx64;
    g.length = m;
    g.count = k;
    const std::size_t n = nd == 2 ? std::size_t(X.shape(1 - int(axis))) : 1;  // the other dimension
    const std::ptrdiff_t u = std::ptrdiff_t(itemsize);
    const std::ptrdiff_t s_gather = X.strides(int(axis));                      // between examples
    const std::ptrdiff_t s_other = nd == 2 ? X.strides(1 - int(axis)) : u;     // within an example
    const std::size_t row_bytes = n * itemsize;
    py::gil_scoped_release nogil;
    if (nd == 2 && axis == 0 && (s_other == u || n == 1) && unit_log2(row_bytes) < 0) {
        // whole rows, each contiguous in X (C order, or rows sliced from one)
        g.rows = 1;
        g.unit = row_bytes;
        g.src_unit = s_gather;
        g.dst_unit = std::ptrdiff_t(row_bytes);
        const GatherFn f = runtime::find_kernel("take_rows", DTypes{}, 0)->gather;
        runtime::parallel_chunks(runtime::chunk_threads(k, n), k, [&](std::size_t, std::size_t b, std::size_t e) { f(g, b, e); });
    } else if (nd == 2 && axis == 1 && s_other != 0 && X.strides(1) == u &&
               tiled_columns(n, m, k, itemsize, runtime::chunk_threads((n + kGatherTileBytes / itemsize - 1) /
                                                                        (kGatherTileBytes / itemsize),
                                                                        kGatherTileBytes / itemsize * k))) {
        g.rows = n;
        g.unit = itemsize;
        g.src_row = s_other;
        g.src_unit = u;
        g.dst_row = std::ptrdiff_t(k * itemsize);
        g.dst_unit = u;
        const GatherTiledFn f = runtime::find_kernel("take_cols_tiled", DTypes{}, int(itemsize))->gather_tiled;
        const std::size_t R = kGatherTileBytes / itemsize;
        const std::size_t blocks = (n + R - 1) / R;
        const std::size_t nt = runtime::chunk_threads(blocks, R * k);
        runtime::Scratch scratch(nt, m * kGatherTileBytes);  // std::bad_alloc reaches Python as MemoryError
        runtime::parallel_chunks(nt, blocks, [&](std::size_t slot, std::size_t b, std::size_t e) {
            f(g, b, e, scratch.slot(slot));
        });
    } else {
        // single units: a 1-D array; rows of 1-16 bytes contiguous in X (one unit each); or
        // element by element, source row r of the gather being column r of X (axis 0) or
        // row r of X (axis 1), with whatever strides X has
        const bool whole_row = nd == 2 && axis == 0 && (s_other == u || n == 1);
        if (nd == 1 || whole_row) {
            g.rows = 1;
            g.unit = nd == 1 ? itemsize : row_bytes;
            g.src_unit = s_gather;
            g.dst_unit = std::ptrdiff_t(g.unit);
        } else {
            g.rows = n;
            g.unit = itemsize;
            g.src_row = s_other;
            g.src_unit = s_gather;
            g.dst_row = axis == 0 ? u : std::ptrdiff_t(k * itemsize);      // out is (k, n) or (n, k), C order
            g.dst_unit = axis == 0 ? std::ptrdiff_t(n * itemsize) : u;
        }
        const GatherFn f = runtime::find_kernel("take_elems", DTypes{}, int(g.unit))->gather;
        const std::size_t blocks = (k + kGatherBlock - 1) / kGatherBlock;
        runtime::parallel_chunks(runtime::chunk_threads(g.rows * blocks, std::min(k, kGatherBlock)), g.rows * blocks,
                        [&](std::size_t, std::size_t b, std::size_t e) { f(g, b, e); });
    }
    return std::move(out);
}

}  // namespace

SIMDOPTIM_BINDING(take) {
    using namespace py::literals;
    m.def("take", &take, "X"_a, "indices"_a, "axis"_a = 0, "out"_a = py::none(),
          "np.take(X, indices, axis=axis, out=out) for 1-D and 2-D X of bool or any numeric dtype, any strides "
          "(C or Fortran order, views); "
          "indices a 1-D int32/int64 array (negative ones count from the end). Every index is checked before "
          "anything is written; the gather runs on the kernel threads with the GIL released.");
}

}  // namespace bindings
}  // namespace simdoptim
