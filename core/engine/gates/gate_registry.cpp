// One line per gate kind.
#include "engine/gates/gate.h"
#include "engine/gates/norm_gate.h"
#include "engine/gates/gumbel_gate.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_threshold_gate();

std::unique_ptr<Gate> make_gate(const GateChoice& choice, const std::string& layer, int64_t in_channels,
                                const Tensor& weights) {
  switch (choice.kind) {
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
      return make_structured_norm_gate(choice.kind, weights);
    case GateKind::Gumbel:
      return make_gumbel_gate(choice.gumbel.get(), layer, in_channels);
  }
  throw Error("unknown gate kind");
}

std::unique_ptr<Gate> make_gate(GateKind kind, const Tensor& weights) {
  if (kind == GateKind::Gumbel) throw Error("the Gumbel gate needs its gates file");
  return make_gate(GateChoice{kind, nullptr}, std::string(), weights.rank() > 1 ? weights.dim(1) : 0, weights);
}

}  // namespace sparseinfer
