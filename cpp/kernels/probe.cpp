// probe.cpp - the memory-bandwidth probe the benchmarks compare every kernel against.
//
// An optimizer step outside the cache is bound by memory traffic, so the honest yardstick
// is the fastest loop that moves the same bytes in the same pattern: RW buffers read and
// written in place, WO buffers only written, RO buffers only read, with one add per
// stream and one multiply (no divide, no square root). It runs through the same element
// loop (for_each_lane_block) and, in the binding, the same threading helper as the
// optimizer kernels, so "% of the probe" isolates the cost of the arithmetic.
//
// The streams are carried in a Slot (param, state[0..2], param_copy, then grad), so the
// runtime splits them exactly as it splits an optimizer's buffers. Stream order: the RW
// buffers first, then WO, then RO; the first one is therefore always written, which is the
// buffer whose cache lines the thread split is aligned to.
#include "probe.h"
#include "simd.h"

namespace simdoptim {
namespace SIMDOPTIM_TARGET {
namespace {

using ProbeFn = void (*)(const ProbeHyper&, const Slot&, std::size_t, std::size_t);

inline void* stream(const Slot& s, int k) {
    switch (k) {
        case 0: return s.param;
        case 1: return s.state[0];
        case 2: return s.state[1];
        case 3: return s.state[2];
        case 4: return s.param_copy;
        default: return const_cast<void*>(s.grad);
    }
}

template <class T, int RW, int WO, int RO>
void probe_range(const ProbeHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    constexpr int N = RW + WO + RO;
    static_assert(N >= 1 && N <= kProbeMaxStreams, "probe: 1 to 6 streams");
    T* __restrict p[N > 0 ? N : 1];
    for (int k = 0; k < N; ++k) p[k] = static_cast<T*>(stream(s, k));
    const T scale = T(h.scale);
    for_each_lane_block<T>(begin, end, [&](auto tag, std::size_t i) {
        using V = decltype(tag);
        // x = scale * (sum of what was read); written to every written stream
        V acc = V::set1(T(0));
        for (int k = 0; k < RW; ++k) acc = acc + V::load(p[k] + i);
        for (int k = RW + WO; k < N; ++k) acc = acc + V::load(p[k] + i);
        acc = acc * V::set1(scale);
        for (int k = 0; k < RW + WO; ++k) acc.store(p[k] + i);
    });
}

template <class T, int RW, int WO, int RO>
constexpr ProbeFn pick() {
    if constexpr (RW + WO + RO >= 1 && RW + WO + RO <= kProbeMaxStreams)
        return &probe_range<T, RW, WO, RO>;
    else
        return nullptr;
}

// [RW][WO][RO] for RW 0..5, WO 0..2, RO 0..2 (null where the total is 0 or above 6)
template <class T, int RW, int WO>
constexpr void fill_ro(ProbeFn (&t)[6][3][3]) {
    t[RW][WO][0] = pick<T, RW, WO, 0>();
    t[RW][WO][1] = pick<T, RW, WO, 1>();
    t[RW][WO][2] = pick<T, RW, WO, 2>();
}
template <class T, int RW>
constexpr void fill_wo(ProbeFn (&t)[6][3][3]) {
    fill_ro<T, RW, 0>(t);
    fill_ro<T, RW, 1>(t);
    fill_ro<T, RW, 2>(t);
}

template <class T>
struct ProbeTable {
    ProbeFn k[6][3][3] = {};
    ProbeTable() {
        fill_wo<T, 0>(k);
        fill_wo<T, 1>(k);
        fill_wo<T, 2>(k);
        fill_wo<T, 3>(k);
        fill_wo<T, 4>(k);
        fill_wo<T, 5>(k);
    }
};

template <class T>
void probe(const ProbeHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    static const ProbeTable<T> table;
    ProbeFn f = nullptr;
    if (h.read_write >= 0 && h.read_write < 6 && h.write_only >= 0 && h.write_only < 3 && h.read_only >= 0 &&
        h.read_only < 3)
        f = table.k[h.read_write][h.write_only][h.read_only];
    if (f) f(h, s, begin, end);  // the binding checks the stream counts; nothing to do otherwise
}

// The probe of streams of different widths (2, 4 or 8 bytes per element): the same streams
// on raw bits, in chunks of 512 elements: each read stream of the chunk is summed with
// integer adds, one per vector, then each written stream is filled with the sum, one store
// per vector; the tail copies bytes. (A chunk of 512 elements is 1 to 4 KB per stream: all
// streams stay in flight together, as in an update, while each inner loop runs at full
// speed whatever the mix of widths.) Its buffers are its own: it writes bits, not numbers.
void probe_bytes(const ProbeHyper& h, const Slot& s, std::size_t begin, std::size_t end) {
    using U = typename U32Of<Vec<float>>::type;
    constexpr std::size_t VB = U::lanes * 4, E = 512;
    const int n = h.read_write + h.write_only + h.read_only;
    unsigned char* p[kProbeMaxStreams];
    std::size_t w[kProbeMaxStreams];
    for (int k = 0; k < n; ++k) {
        p[k] = static_cast<unsigned char*>(stream(s, k));
        w[k] = std::size_t(h.width[k]);
    }
    const int written = h.read_write + h.write_only;
    std::size_t i = begin;
    for (; i + E <= end; i += E) {
        U acc = U::set1(0);
        for (int k = 0; k < n; ++k) {
            if (k >= h.read_write && k < written) continue;  // write-only
            const std::uint32_t* q = reinterpret_cast<const std::uint32_t*>(p[k] + i * w[k]);
            const std::size_t words = E * w[k] / 4;
            for (std::size_t j = 0; j < words; j += VB / 4) acc = acc + U::load(q + j);
        }
        for (int k = 0; k < written; ++k) {
            std::uint32_t* q = reinterpret_cast<std::uint32_t*>(p[k] + i * w[k]);
            const std::size_t words = E * w[k] / 4;
            for (std::size_t j = 0; j < words; j += VB / 4) acc.store(q + j);
        }
    }
    for (; i < end; ++i) {
        unsigned char acc = 0;
        for (int k = 0; k < n; ++k)
            if (k < h.read_write || k >= written)
                for (std::size_t b = 0; b < w[k]; ++b) acc = static_cast<unsigned char>(acc + p[k][i * w[k] + b]);
        for (int k = 0; k < written; ++k)
            for (std::size_t b = 0; b < w[k]; ++b) p[k][i * w[k] + b] = acc;
    }
}

constexpr KernelEntry kKernels[] = {
    update_kernel("probe", same_dtypes(kFloat32), with_hyper<ProbeHyper, probe<float>>),
    update_kernel("probe", same_dtypes(kFloat64), with_hyper<ProbeHyper, probe<double>>),
    update_kernel("probe_bytes", same_dtypes(kNoDType), with_hyper<ProbeHyper, probe_bytes>),
};

}  // namespace

SIMDOPTIM_REGISTER_KERNELS(kKernels)

}  // namespace SIMDOPTIM_TARGET
}  // namespace simdoptim
