// The gate kinds by name: what EngineOptions::gate, `--gate` and the
// elements' gate property take.
#include <string>

#include "engine/gates/gate.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

struct KindEntry {
  GateKind kind;
  const char* name;
  int cell;
  bool output_norm;
};

constexpr KindEntry kKinds[] = {
    {GateKind::Threshold, "threshold", 1, false},          {GateKind::InputNorm, "input-norm", 1, false},
    {GateKind::OutputNorm, "output-norm", 1, true},        {GateKind::InputNorm2x2, "input-norm-2x2", 2, false},
    {GateKind::InputNorm4x4, "input-norm-4x4", 4, false},  {GateKind::InputNorm8x8, "input-norm-8x8", 8, false},
    {GateKind::OutputNorm2x2, "output-norm-2x2", 2, true}, {GateKind::OutputNorm4x4, "output-norm-4x4", 4, true},
    {GateKind::OutputNorm8x8, "output-norm-8x8", 8, true},
};

// Not in kKinds: the Gumbel gates are chosen by their file, not by name.
constexpr KindEntry kGumbel = {GateKind::Gumbel, "gumbel", 1, false};

const KindEntry& entry(GateKind kind) {
  for (const KindEntry& e : kKinds)
    if (e.kind == kind) return e;
  if (kind == GateKind::Gumbel) return kGumbel;
  throw Error("unknown gate kind");
}

}  // namespace

std::vector<std::string> gate_names() {
  std::vector<std::string> names;
  for (const KindEntry& e : kKinds) names.push_back(e.name);
  return names;
}

GateKind gate_kind_from_name(const std::string& name) {
  std::string choices;
  for (const KindEntry& e : kKinds) {
    if (name == e.name) return e.kind;
    choices += std::string(choices.empty() ? "" : ", ") + e.name;
  }
  throw Error("unknown gate '" + name + "' (one of: " + choices + ")");
}

const char* gate_kind_name(GateKind kind) {
  return entry(kind).name;
}

int gate_cell(GateKind kind) {
  return entry(kind).cell;
}

bool gate_is_output_norm(GateKind kind) {
  return entry(kind).output_norm;
}

}  // namespace sparseinfer
