/* GstSparseinferStreamMeta: which stream a frame belongs to, what its
 * inference cost (a reference to the frame's GstSparseinferFrameStats) and
 * where the first change-detecting layer saw changes.
 *
 * The change mask covers the whole frame on the grid of the first detecting
 * layer's input (the network input size): 1 where a change was accepted,
 * all ones on a dense frame, all zeros when nothing changed.
 *
 * A dual-stream element (saliencyscheduler) also references the saliency
 * state its next frames depend on: the maps of the last large-model run and
 * that run's frame index. */
#pragma once

#include <gst/gst.h>

#include "gstsparseinferframestats.h"
#include "gstsparseinfersaliencystate.h"
#include "sparseinfer-meta-prelude.h"

G_BEGIN_DECLS

typedef struct _GstSparseinferStreamMeta GstSparseinferStreamMeta;

/**
 * GstSparseinferStreamMeta:
 * @meta: parent
 * @stream_id: the stream-id of the STREAM_START event
 * @frame_index: frames seen on the stream since its last reset, from 0
 * @stats: (transfer none): the frame's statistics (the meta holds a reference)
 * @mask: (array): mask_width * mask_height bytes, row-major, or NULL
 * @mask_width: mask columns
 * @mask_height: mask rows
 * @saliency: (transfer none) (nullable): dual-stream elements only: the
 *   saliency maps of the stream's last large-model run up to this frame
 *   (the meta holds a reference), NULL otherwise
 */
struct _GstSparseinferStreamMeta {
  GstMeta meta;
  gchar *stream_id;
  guint64 frame_index;
  GstSparseinferFrameStats *stats;
  guint8 *mask;
  guint mask_width;
  guint mask_height;
  GstSparseinferSaliencyState *saliency;
};

GST_SPARSEINFER_META_API GType gst_sparseinfer_stream_meta_api_get_type(void);
#define GST_SPARSEINFER_STREAM_META_API_TYPE (gst_sparseinfer_stream_meta_api_get_type())

GST_SPARSEINFER_META_API const GstMetaInfo *gst_sparseinfer_stream_meta_get_info(void);
#define GST_SPARSEINFER_STREAM_META_INFO (gst_sparseinfer_stream_meta_get_info())

#define gst_buffer_get_sparseinfer_stream_meta(b) \
  ((GstSparseinferStreamMeta *)gst_buffer_get_meta((b), GST_SPARSEINFER_STREAM_META_API_TYPE))

/* Adds the meta, taking a reference to @stats and copying @mask
 * (@mask_width * @mask_height bytes; NULL for none). */
GST_SPARSEINFER_META_API
GstSparseinferStreamMeta *gst_buffer_add_sparseinfer_stream_meta(GstBuffer *buffer, GstSparseinferFrameStats *stats,
                                                                 const guint8 *mask, guint mask_width,
                                                                 guint mask_height);

/* References @saliency from the meta (replacing any earlier one; NULL clears). */
GST_SPARSEINFER_META_API
void gst_sparseinfer_stream_meta_set_saliency(GstSparseinferStreamMeta *meta, GstSparseinferSaliencyState *saliency);

/* Share of mask entries that are set (0 when there is no mask). */
GST_SPARSEINFER_META_API gdouble gst_sparseinfer_stream_meta_mask_fraction(const GstSparseinferStreamMeta *meta);

G_END_DECLS
