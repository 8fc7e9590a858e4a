// Skip-Conv's input-norm gate (Skip-Convolutions §3.2.1, eq. 5): skip a pixel
// when the L1 norm of its input residual over the channels is at most the
// threshold. Eq. 5 takes the norm over the kernel support of each output
// pixel; here the gate decides per input pixel and the change engine then
// recomputes every output whose support holds an accepted pixel (CBinfer
// eq. 4), so an output is skipped only when each pixel of its support is.
#include "engine/gates/norm_gate.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_input_norm_gate() {
  return std::make_unique<NormGate>(1.0f, 1);
}

}  // namespace sparseinfer
