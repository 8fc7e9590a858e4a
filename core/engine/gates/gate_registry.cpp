// One line per gate kind.
#include "engine/gates/gate.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::unique_ptr<Gate> make_threshold_gate();

std::unique_ptr<Gate> make_gate(GateKind kind) {
  switch (kind) {
    case GateKind::Threshold:
      return make_threshold_gate();
  }
  throw Error("unknown gate kind");
}

}  // namespace sparseinfer
