/* GstSparseinferElement: the abstract base of the sparseinfer elements. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "frame_view.h"
#include "sparseinfer/engine.h"

G_BEGIN_DECLS

/**
 * GstSparseinferBackend:
 * @GST_SPARSEINFER_BACKEND_AUTO: the GPU when one is present and can run the
 *   whole network, otherwise the CPU
 * @GST_SPARSEINFER_BACKEND_CPU: the CPU
 * @GST_SPARSEINFER_BACKEND_CUDA: an NVIDIA GPU (needs a build with CUDA)
 *
 * Where an element's networks run (its "backend" property).
 */
typedef enum {
  GST_SPARSEINFER_BACKEND_AUTO,
  GST_SPARSEINFER_BACKEND_CPU,
  GST_SPARSEINFER_BACKEND_CUDA,
} GstSparseinferBackend;

GType gst_sparseinfer_backend_get_type(void);
#define GST_TYPE_SPARSEINFER_BACKEND (gst_sparseinfer_backend_get_type())

#define GST_TYPE_SPARSEINFER_ELEMENT (gst_sparseinfer_element_get_type())
G_DECLARE_DERIVABLE_TYPE(GstSparseinferElement, gst_sparseinfer_element, GST, SPARSEINFER_ELEMENT, GstBaseTransform)

/**
 * GstSparseinferElementClass:
 * @parent_class: the parent class
 * @open: copies the settings (under the object lock) and loads the models;
 *   called from start(). Returns FALSE after posting an error; a C++
 *   exception is posted as a load error naming the models given to
 *   gst_sparseinfer_element_set_models().
 * @close: drops what @open loaded; called from stop(), and after an @open
 *   that failed. Optional.
 * @configure: prepares for frames of @info (new caps); an exception is
 *   posted as "cannot run" error. Optional.
 * @reset: forgets the stream's past (new stream, flush, new caps, a gap
 *   longer than "reset-gap"): the next frame starts afresh. Optional.
 * @process: handles one frame, the @frame_index-th since the last reset; maps
 *   the pixels with gst_sparseinfer_element_map_frame() when it needs them.
 *   An exception is posted as an inference error.
 *
 * Holds what every sparseinfer element does the same way: raw video pad
 * templates, stream resets, the latency query and messages, QoS bookkeeping,
 * frame mapping and the conversion of core exceptions into element errors.
 */
struct _GstSparseinferElementClass {
  GstBaseTransformClass parent_class;

  gboolean (*open)(GstSparseinferElement *self);
  void (*close)(GstSparseinferElement *self);
  gboolean (*configure)(GstSparseinferElement *self, const GstVideoInfo *info);
  void (*reset)(GstSparseinferElement *self);
  GstFlowReturn (*process)(GstSparseinferElement *self, GstBuffer *buf, guint64 frame_index);

  /*< private >*/
  gpointer _gst_reserved[GST_PADDING];
};

/* For @open: how errors name the models; @files (paths) while loading,
 * @names (file names) afterwards, e.g. "model \"net.onnx\"". */
void gst_sparseinfer_element_set_models(GstSparseinferElement *self, const gchar *files, const gchar *names);

/* For @open: the "model-instance-id" property ("" when unset; g_free() it). */
gchar *gst_sparseinfer_element_dup_model_instance_id(GstSparseinferElement *self);

/* For @open: the "batch-timeout" property, in nanoseconds (0: no batching). */
GstClockTime gst_sparseinfer_element_get_batch_timeout(GstSparseinferElement *self);

/* For @process: the stream-id of the current stream ("" before the first STREAM_START). */
const gchar *gst_sparseinfer_element_get_stream_id(GstSparseinferElement *self);

/* For @process: maps @buf for reading (unmapped after @process returns).
 * Returns FALSE after posting an error. */
gboolean gst_sparseinfer_element_map_frame(GstSparseinferElement *self, GstBuffer *buf,
                                           sparseinfer::gst::FrameView *frame);

/**
 * GstSparseinferFrameKind:
 * @GST_SPARSEINFER_FRAME_FULL: the whole network (a dense frame: the first
 *   after a reset, a refresh; the large model)
 * @GST_SPARSEINFER_FRAME_INCREMENTAL: only what changed (change mode; the small model)
 *
 * The kinds of frame whose processing times the base keeps apart: the
 * latency covers the slowest, QoS predicts each frame with its own.
 */
typedef enum {
  GST_SPARSEINFER_FRAME_FULL,
  GST_SPARSEINFER_FRAME_INCREMENTAL,
} GstSparseinferFrameKind;

/* For @process: TRUE when QoS is enabled and @buf, processed now as a frame of
 * @kind at that kind's predicted cost, would reach the sink late; the caller
 * then skips it. Each TRUE shrinks the prediction, and after a run of them
 * one FALSE (a probe) lets a frame measure the cost again. */
gboolean gst_sparseinfer_element_would_be_late(GstSparseinferElement *self, GstBuffer *buf,
                                               GstSparseinferFrameKind kind);

/* For @process: adds the processing time of a frame of @kind to the latency
 * estimate; posts a LATENCY message when it moved enough. */
void gst_sparseinfer_element_add_processing_time(GstSparseinferElement *self, GstSparseinferFrameKind kind, gdouble ms);

/* For @process: whether the reported latency covers frames of @kind (all
 * kinds do by default). An element leaves out a kind it produces only once
 * after a reset, so that one slow frame does not delay every other one. */
void gst_sparseinfer_element_set_latency_covers(GstSparseinferElement *self, GstSparseinferFrameKind kind,
                                                gboolean covers);

/* gst_sparseinfer_element_add_processing_time() for a full frame. */
void gst_sparseinfer_element_update_latency(GstSparseinferElement *self, gdouble ms);

/* The latency the element reports; call with the object lock held. */
GstClockTime gst_sparseinfer_element_get_latency_unlocked(GstSparseinferElement *self);

/* Posts @stats (a "sparseinfer-frame-stats" structure, taken) as an element message. */
void gst_sparseinfer_element_post_stats(GstSparseinferElement *self, GstStructure *stats);

G_END_DECLS

namespace sparseinfer::gst {

// The core's backend of a "backend" property value, and back.
Backend core_backend(GstSparseinferBackend backend);
GstSparseinferBackend backend_property(Backend backend);

}  // namespace sparseinfer::gst
