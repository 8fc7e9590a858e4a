// The `gate` enum property of the change-mode elements: one value per gate
// kind of the engine (sparseinfer::gate_names()), its nick the kind's name.
#pragma once

#include <glib-object.h>

#include <string>

G_BEGIN_DECLS

GType gst_sparseinfer_gate_get_type(void);
#define GST_TYPE_SPARSEINFER_GATE (gst_sparseinfer_gate_get_type())

G_END_DECLS

namespace sparseinfer::gst {

// Enum value <-> EngineOptions::gate; an unknown name gives value 0 (threshold).
std::string gate_name_of(gint value);
gint gate_value_of(const std::string& name);

}  // namespace sparseinfer::gst
