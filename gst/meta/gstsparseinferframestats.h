/* GstSparseinferFrameStats: what one stream's inference cost on one frame.
 *
 * A refcounted GstMiniObject made by the element once per frame from the
 * per-stream state and never modified after it is attached, so every copy of
 * the buffer (and an application that keeps a reference) reads the same
 * numbers. */
#pragma once

#include <gst/gst.h>

#include "sparseinfer-meta-prelude.h"

G_BEGIN_DECLS

typedef struct _GstSparseinferFrameStats GstSparseinferFrameStats;

/**
 * GstSparseinferFrameStats:
 * @mini_object: parent
 * @stream_id: the stream-id of the STREAM_START event of the stream
 * @frame_index: frames seen on this stream since its last reset, from 0
 * @inferred: FALSE when the frame was not run through the network
 *   (inference-interval, QoS) and carries the last results
 * @dense_frame: every layer was computed in full (first frame after a reset,
 *   a refresh, or dense mode)
 * @changed_fraction: mean over layers of the share of output pixels recomputed
 * @mac_fraction: multiply-accumulates executed / those of a dense frame
 * @macs_executed: multiply-accumulates executed
 * @macs_dense: multiply-accumulates of a dense frame
 * @process_ms: wall time of the inference (preprocessing included)
 * @state_bytes: bytes held for the stream's state
 * @n_layers: number of entries in @layer_changed_fractions
 * @layer_changed_fractions: (array length=n_layers): per executed layer
 * @refresh_frame: change mode's refresh (refresh-interval): every layer at
 *   threshold 0 over its whole input, so the result equals a dense frame's
 *   though only what moved was recomputed
 */
struct _GstSparseinferFrameStats {
  GstMiniObject mini_object;
  gchar *stream_id;
  guint64 frame_index;
  gboolean inferred;
  gboolean dense_frame;
  gdouble changed_fraction;
  gdouble mac_fraction;
  gint64 macs_executed;
  gint64 macs_dense;
  gdouble process_ms;
  guint64 state_bytes;
  guint n_layers;
  gdouble *layer_changed_fractions;
  gboolean refresh_frame;
};

GST_SPARSEINFER_META_API GType gst_sparseinfer_frame_stats_get_type(void);
#define GST_TYPE_SPARSEINFER_FRAME_STATS (gst_sparseinfer_frame_stats_get_type())

/* A zeroed object with @n_layers per-layer entries. */
GST_SPARSEINFER_META_API
GstSparseinferFrameStats *gst_sparseinfer_frame_stats_new(const gchar *stream_id, guint n_layers);

static inline GstSparseinferFrameStats *gst_sparseinfer_frame_stats_ref(GstSparseinferFrameStats *stats) {
  return (GstSparseinferFrameStats *)gst_mini_object_ref(GST_MINI_OBJECT_CAST(stats));
}

static inline void gst_sparseinfer_frame_stats_unref(GstSparseinferFrameStats *stats) {
  gst_mini_object_unref(GST_MINI_OBJECT_CAST(stats));
}

/* The statistics as a GstStructure named "sparseinfer-frame-stats" (what
 * cbinferconv posts with emit-stats). */
GST_SPARSEINFER_META_API
GstStructure *gst_sparseinfer_frame_stats_to_structure(const GstSparseinferFrameStats *stats);

G_END_DECLS
