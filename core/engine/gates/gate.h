// A gate decides, layer by layer and frame by frame, which input pixels are
// treated as changed and so recomputed (CBinfer's change detector §III-C,
// Skip-Conv's gates §3). Gates are created at compile time and shared by
// streams; what one remembers between frames lives in that stream's GateState.
// A new gate kind is one file beside this one plus a line in make_gate().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/change_set.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

struct GateState {
  Tensor reference;              // the input as the layer last computed it (closed loop)
  float last_threshold = -1.0f;  // effective threshold of the last frame; < 0: none yet
};

class Gate {
 public:
  virtual ~Gate() = default;

  // A frame computed in full: the state takes all of `input`.
  virtual void prime(const Tensor& input, float threshold, GateState& state) const = 0;

  // Fills `accepted` (its batch/height/width already set) with the pixels of
  // `input` that count as changed, looking at `candidates` (what the layers
  // before report as changed), and updates the state. `flags` is per-stream
  // scratch, all zero on entry and exit. Adds its time to times->detect_ms
  // and times->extract_ms.
  virtual void select(const Tensor& input, const ChangeSet& candidates, float threshold, GateState& state,
                      std::vector<uint8_t>& flags, int threads, StageTimes* times, ChangeSet& accepted) const = 0;

  // What the layer computes its outputs from: the gate's state for a closed
  // loop (errors cannot accumulate), the input itself for an open one.
  virtual const Tensor& source(const Tensor& input, const GateState& state) const = 0;
};

// CBinfer's threshold gate at threshold 0 (threshold_gate.cpp): it accepts
// every pixel that differs from the state, so the layer's state becomes its
// input. Every closed-loop gate keeps its state as the input it last computed
// from, so this gate can take over any of them for one frame
// (StreamState::refresh).
const Gate& exact_gate();

enum class GateKind {
  Threshold,   // CBinfer eq. (3) with the closed loop of §III-C
  InputNorm,   // Skip-Conv eq. (5): L1 norm of the input residual (input_norm_gate.cpp)
  OutputNorm,  // Skip-Conv eq. (7): that norm times the weight norm (output_norm_gate.cpp)
  // Skip-Conv §3.2.3 structured gates: max-pool over k x k, nearest upsample (structured_norm_gate.cpp)
  InputNorm2x2,
  InputNorm4x4,
  InputNorm8x8,
  OutputNorm2x2,
  OutputNorm4x4,
  OutputNorm8x8,
  Gumbel,  // Skip-Conv §3.2.2: a trained 1x1 gate on the residual (gumbel_gate.h)
};

struct GumbelGateSet;

// The gate kind of an engine and what its kinds need beyond the layer.
struct GateChoice {
  GateKind kind = GateKind::Threshold;
  std::shared_ptr<const GumbelGateSet> gumbel;  // GateKind::Gumbel: the trained gates
};

// The gate of the spatial convolution `layer` (Engine::threshold_layers()
// name) reading `in_channels` channels, whose [Cout, Cin/group, kh, kw]
// `weights` bound the output residual for the output-norm gates; throws Error
// when `choice` has none for it.
std::unique_ptr<Gate> make_gate(const GateChoice& choice, const std::string& layer, int64_t in_channels,
                                const Tensor& weights);
// The same for the kinds that need nothing beyond the weights (all but Gumbel).
std::unique_ptr<Gate> make_gate(GateKind kind, const Tensor& weights);

// Names as EngineOptions::gate, the CLI and the elements spell them
// ("threshold", "input-norm", "output-norm-4x4", ...; the Gumbel gates come
// with their file instead, EngineOptions::gumbel_gates); gate_kinds.cpp.
GateKind gate_kind_from_name(const std::string& name);  // throws Error naming the gate and the choices
const char* gate_kind_name(GateKind kind);
// Structured kinds: the cell side k (1 for the unstructured ones).
int gate_cell(GateKind kind);
bool gate_is_output_norm(GateKind kind);

}  // namespace sparseinfer
