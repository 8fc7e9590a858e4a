/* GstSparseinferSaliencyState: a GstMiniObject with a deep copy and a free. */
#include "gstsparseinfersaliencystate.h"

#include <cstring>

GST_DEFINE_MINI_OBJECT_TYPE(GstSparseinferSaliencyState, gst_sparseinfer_saliency_state);

namespace {

void saliency_state_free(GstMiniObject *obj) {
  auto *state = reinterpret_cast<GstSparseinferSaliencyState *>(obj);
  for (guint i = 0; i < state->n_maps; ++i) {
    g_free(state->maps[i].name);
    g_free(state->maps[i].data);
  }
  g_free(state->maps);
  g_free(state);
}

GstMiniObject *saliency_state_copy(const GstMiniObject *obj) {
  auto *src = reinterpret_cast<const GstSparseinferSaliencyState *>(obj);
  GstSparseinferSaliencyState *dst = gst_sparseinfer_saliency_state_new(src->large_frame_index, src->n_maps);
  for (guint i = 0; i < src->n_maps; ++i) {
    const GstSparseinferSaliencyMap &m = src->maps[i];
    gst_sparseinfer_saliency_state_set_map(dst, i, m.name, m.width, m.height, m.data);
  }
  return GST_MINI_OBJECT_CAST(dst);
}

}  // namespace

GstSparseinferSaliencyState *gst_sparseinfer_saliency_state_new(guint64 large_frame_index, guint n_maps) {
  GstSparseinferSaliencyState *state = g_new0(GstSparseinferSaliencyState, 1);
  gst_mini_object_init(GST_MINI_OBJECT_CAST(state), 0, GST_TYPE_SPARSEINFER_SALIENCY_STATE, saliency_state_copy,
                       nullptr, saliency_state_free);
  state->large_frame_index = large_frame_index;
  state->n_maps = n_maps;
  state->maps = g_new0(GstSparseinferSaliencyMap, n_maps);
  return state;
}

gboolean gst_sparseinfer_saliency_state_set_map(GstSparseinferSaliencyState *state, guint index, const gchar *name,
                                                guint width, guint height, const gfloat *data) {
  g_return_val_if_fail(state != nullptr, FALSE);
  g_return_val_if_fail(index < state->n_maps, FALSE);
  g_return_val_if_fail(data != nullptr || gsize(width) * height == 0, FALSE);
  GstSparseinferSaliencyMap &m = state->maps[index];
  g_free(m.name);
  g_free(m.data);
  m.name = g_strdup(name);
  m.width = width;
  m.height = height;
  m.data = static_cast<gfloat *>(g_memdup2(data, gsize(width) * height * sizeof(gfloat)));
  return TRUE;
}

const GstSparseinferSaliencyMap *gst_sparseinfer_saliency_state_get_map(const GstSparseinferSaliencyState *state,
                                                                        const gchar *name) {
  g_return_val_if_fail(state != nullptr && name != nullptr, nullptr);
  for (guint i = 0; i < state->n_maps; ++i)
    if (state->maps[i].name && std::strcmp(state->maps[i].name, name) == 0) return &state->maps[i];
  return nullptr;
}
