// One line per gate kind.
#include "engine/gates/gate.h"
#include "engine/gates/gumbel_gate.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_threshold_gate();

std::unique_ptr<Gate> make_gate(const GateChoice& choice, const std::string& layer, int64_t in_channels) {
  switch (choice.kind) {
    case GateKind::Threshold:
      return make_threshold_gate();
    case GateKind::Gumbel:
      return make_gumbel_gate(choice.gumbel.get(), layer, in_channels);
  }
  throw Error("unknown gate kind");
}

}  // namespace sparseinfer
