// probe.h - the memory-bandwidth probe's parameters (kernel probe.cpp, binding bindings/probe.cpp).
#pragma once

namespace simdoptim {

// read_write buffers updated in place, write_only buffers written, read_only buffers read,
// each written value scale * (sum of the values read). Stream k lives in the Slot as param,
// state[0], state[1], state[2], param_copy, grad.
constexpr int kProbeMaxStreams = 6;
struct ProbeHyper {
    int read_write;
    int write_only;
    int read_only;
    double scale;
    // bytes per element of each stream, for the probe of mixed widths ("probe_bytes": e.g. a
    // bfloat16 step's 2-byte parameter and gradient beside 4-byte state); 0 where unused
    int width[kProbeMaxStreams] = {0, 0, 0, 0, 0, 0};
};

}  // namespace simdoptim
