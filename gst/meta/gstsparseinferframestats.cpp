/* GstSparseinferFrameStats: a GstMiniObject with a deep copy and a free. */
#include "gstsparseinferframestats.h"

GST_DEFINE_MINI_OBJECT_TYPE(GstSparseinferFrameStats, gst_sparseinfer_frame_stats);

namespace {

void frame_stats_free(GstMiniObject *obj) {
  auto *stats = reinterpret_cast<GstSparseinferFrameStats *>(obj);
  g_free(stats->stream_id);
  g_free(stats->layer_changed_fractions);
  g_free(stats);
}

GstMiniObject *frame_stats_copy(const GstMiniObject *obj) {
  auto *src = reinterpret_cast<const GstSparseinferFrameStats *>(obj);
  GstSparseinferFrameStats *dst = gst_sparseinfer_frame_stats_new(src->stream_id, src->n_layers);
  dst->frame_index = src->frame_index;
  dst->inferred = src->inferred;
  dst->dense_frame = src->dense_frame;
  dst->refresh_frame = src->refresh_frame;
  dst->changed_fraction = src->changed_fraction;
  dst->mac_fraction = src->mac_fraction;
  dst->macs_executed = src->macs_executed;
  dst->macs_dense = src->macs_dense;
  dst->process_ms = src->process_ms;
  dst->state_bytes = src->state_bytes;
  for (guint i = 0; i < src->n_layers; ++i) dst->layer_changed_fractions[i] = src->layer_changed_fractions[i];
  return GST_MINI_OBJECT_CAST(dst);
}

}  // namespace

GstSparseinferFrameStats *gst_sparseinfer_frame_stats_new(const gchar *stream_id, guint n_layers) {
  GstSparseinferFrameStats *stats = g_new0(GstSparseinferFrameStats, 1);
  gst_mini_object_init(GST_MINI_OBJECT_CAST(stats), 0, GST_TYPE_SPARSEINFER_FRAME_STATS, frame_stats_copy, nullptr,
                       frame_stats_free);
  stats->stream_id = g_strdup(stream_id);
  stats->n_layers = n_layers;
  stats->layer_changed_fractions = g_new0(gdouble, n_layers);
  return stats;
}

GstStructure *gst_sparseinfer_frame_stats_to_structure(const GstSparseinferFrameStats *stats) {
  g_return_val_if_fail(stats != nullptr, nullptr);
  GValue layers = G_VALUE_INIT;
  gst_value_array_init(&layers, stats->n_layers);
  for (guint i = 0; i < stats->n_layers; ++i) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, stats->layer_changed_fractions[i]);
    gst_value_array_append_and_take_value(&layers, &v);
  }
  GstStructure *s = gst_structure_new(
      "sparseinfer-frame-stats", "stream-id", G_TYPE_STRING, stats->stream_id ? stats->stream_id : "", "frame-index",
      G_TYPE_UINT64, stats->frame_index, "inferred", G_TYPE_BOOLEAN, stats->inferred, "dense-frame", G_TYPE_BOOLEAN,
      stats->dense_frame, "refresh-frame", G_TYPE_BOOLEAN, stats->refresh_frame, "changed-fraction", G_TYPE_DOUBLE,
      stats->changed_fraction, "mac-fraction", G_TYPE_DOUBLE, stats->mac_fraction, "macs-executed", G_TYPE_INT64,
      stats->macs_executed, "macs-dense", G_TYPE_INT64, stats->macs_dense, "process-ms", G_TYPE_DOUBLE,
      stats->process_ms, "state-bytes", G_TYPE_UINT64, stats->state_bytes, nullptr);
  gst_structure_take_value(s, "layer-changed-fractions", &layers);
  return s;
}
