#include "gate_property.h"

#include <map>
#include <vector>

#include "sparseinfer/engine.h"

namespace {

// gst-inspect's line per kind; a kind the core adds without a line here still
// appears, described by the pointer to the documentation.
const std::map<std::string, const char*> kBlurbs = {
    {"threshold", "CBinfer: a pixel changed when a channel moved by more than the threshold"},
    {"input-norm", "Skip-Conv eq. 5: L1 norm of the input residual over the channels"},
    {"output-norm", "Skip-Conv eq. 7: input residual norm times the layer's weight norm"},
    {"input-norm-2x2", "Skip-Conv structured input-norm gate, 2x2 cells"},
    {"input-norm-4x4", "Skip-Conv structured input-norm gate, 4x4 cells"},
    {"input-norm-8x8", "Skip-Conv structured input-norm gate, 8x8 cells"},
    {"output-norm-2x2", "Skip-Conv structured output-norm gate, 2x2 cells"},
    {"output-norm-4x4", "Skip-Conv structured output-norm gate, 4x4 cells"},
    {"output-norm-8x8", "Skip-Conv structured output-norm gate, 8x8 cells"},
};

const std::vector<std::string>& names() {
  static const std::vector<std::string> list = sparseinfer::gate_names();
  return list;
}

}  // namespace

GType gst_sparseinfer_gate_get_type(void) {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    // Lives as long as the type: GLib keeps the pointer.
    auto* values = new GEnumValue[names().size() + 1];
    for (size_t i = 0; i < names().size(); ++i) {
      auto blurb = kBlurbs.find(names()[i]);
      values[i] = {static_cast<gint>(i), blurb != kBlurbs.end() ? blurb->second : "see docs/gates.md",
                   names()[i].c_str()};
    }
    values[names().size()] = {0, nullptr, nullptr};
    g_once_init_leave(&type, g_enum_register_static("GstSparseinferGate", values));
  }
  return type;
}

namespace sparseinfer::gst {

std::string gate_name_of(gint value) {
  return value >= 0 && static_cast<size_t>(value) < names().size() ? names()[static_cast<size_t>(value)] : names()[0];
}

gint gate_value_of(const std::string& name) {
  for (size_t i = 0; i < names().size(); ++i)
    if (names()[i] == name) return static_cast<gint>(i);
  return 0;
}

}  // namespace sparseinfer::gst
