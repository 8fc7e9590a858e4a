// One line per gate kind.
#include "engine/gates/gate.h"
#include "engine/gates/norm_gate.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_threshold_gate();

std::unique_ptr<Gate> make_gate(GateKind kind, const Tensor& weights) {
  switch (kind) {
    case GateKind::Threshold:
      return make_threshold_gate();
    case GateKind::InputNorm:
      return make_input_norm_gate();
    case GateKind::OutputNorm:
      return make_output_norm_gate(weights);
    case GateKind::InputNorm2x2:
    case GateKind::InputNorm4x4:
    case GateKind::InputNorm8x8:
    case GateKind::OutputNorm2x2:
    case GateKind::OutputNorm4x4:
    case GateKind::OutputNorm8x8:
      return make_structured_norm_gate(kind, weights);
  }
  throw Error("unknown gate kind");
}

}  // namespace sparseinfer
