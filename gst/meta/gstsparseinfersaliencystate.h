/* GstSparseinferSaliencyState: the part of a dual-stream (saliencyscheduler)
 * stream's state that the frames after a large-model run depend on: the
 * saliency maps that run emitted and its frame index.
 *
 * A refcounted GstMiniObject made once per large-model run and never modified
 * afterwards; the stream meta of that frame and of every small-model frame
 * that fuses those maps holds a reference to the same object. */
#pragma once

#include <gst/gst.h>

#include "sparseinfer-meta-prelude.h"

G_BEGIN_DECLS

typedef struct _GstSparseinferSaliencyState GstSparseinferSaliencyState;

/**
 * GstSparseinferSaliencyMap:
 * @name: the large model's output name ("saliency_a", "saliency_b")
 * @width: map columns
 * @height: map rows
 * @data: (array): width * height floats in [0, 1], row-major
 */
typedef struct {
  gchar *name;
  guint width;
  guint height;
  gfloat *data;
} GstSparseinferSaliencyMap;

/**
 * GstSparseinferSaliencyState:
 * @mini_object: parent
 * @large_frame_index: frame index (since the stream's last reset) of the
 *   large-model run that emitted the maps
 * @n_maps: number of entries in @maps
 * @maps: (array length=n_maps): the maps, in the large model's output order
 */
struct _GstSparseinferSaliencyState {
  GstMiniObject mini_object;
  guint64 large_frame_index;
  guint n_maps;
  GstSparseinferSaliencyMap *maps;
};

GST_SPARSEINFER_META_API GType gst_sparseinfer_saliency_state_get_type(void);
#define GST_TYPE_SPARSEINFER_SALIENCY_STATE (gst_sparseinfer_saliency_state_get_type())

/* An object with @n_maps empty maps, for gst_sparseinfer_saliency_state_set_map(). */
GST_SPARSEINFER_META_API
GstSparseinferSaliencyState *gst_sparseinfer_saliency_state_new(guint64 large_frame_index, guint n_maps);

/* Copies @width * @height floats into map @index (while the object is new
 * and not yet shared). Returns FALSE for an index out of range. */
GST_SPARSEINFER_META_API
gboolean gst_sparseinfer_saliency_state_set_map(GstSparseinferSaliencyState *state, guint index, const gchar *name,
                                                guint width, guint height, const gfloat *data);

/* The map called @name, or NULL. */
GST_SPARSEINFER_META_API
const GstSparseinferSaliencyMap *gst_sparseinfer_saliency_state_get_map(const GstSparseinferSaliencyState *state,
                                                                        const gchar *name);

static inline GstSparseinferSaliencyState *gst_sparseinfer_saliency_state_ref(GstSparseinferSaliencyState *state) {
  return (GstSparseinferSaliencyState *)gst_mini_object_ref(GST_MINI_OBJECT_CAST(state));
}

static inline void gst_sparseinfer_saliency_state_unref(GstSparseinferSaliencyState *state) {
  gst_mini_object_unref(GST_MINI_OBJECT_CAST(state));
}

G_END_DECLS
