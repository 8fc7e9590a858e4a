/* cbinferconv: runs a CNN on every video frame, recomputing only what changed. */
#pragma once

#include <gst/gst.h>

#include "gstsparseinferelement.h"
#include "sparseinfer-meta.h"

G_BEGIN_DECLS

#define GST_TYPE_CBINFER_CONV (gst_cbinfer_conv_get_type())
G_DECLARE_FINAL_TYPE(GstCbinferConv, gst_cbinfer_conv, GST, CBINFER_CONV, GstSparseinferElement)

/**
 * GstCbinferConvMode:
 * @GST_CBINFER_CONV_MODE_DENSE: every layer computed in full on every frame
 * @GST_CBINFER_CONV_MODE_CHANGE: CBinfer: only pixels affected by changes are recomputed
 */
typedef enum {
  GST_CBINFER_CONV_MODE_DENSE,
  GST_CBINFER_CONV_MODE_CHANGE,
} GstCbinferConvMode;

/**
 * GstCbinferConvChannelOrder:
 * @GST_CBINFER_CONV_CHANNEL_ORDER_RGB: the network expects R, G, B planes
 * @GST_CBINFER_CONV_CHANNEL_ORDER_BGR: the network expects B, G, R planes
 */
typedef enum {
  GST_CBINFER_CONV_CHANNEL_ORDER_RGB,
  GST_CBINFER_CONV_CHANNEL_ORDER_BGR,
} GstCbinferConvChannelOrder;

/**
 * GstCbinferConvTask:
 * @GST_CBINFER_CONV_TASK_AUTO: guess from the model's outputs
 * @GST_CBINFER_CONV_TASK_UNKNOWN: attach tensors only
 * @GST_CBINFER_CONV_TASK_SEGMENTATION: per-pixel class scores
 * @GST_CBINFER_CONV_TASK_CLASSIFICATION: class logits
 * @GST_CBINFER_CONV_TASK_DETECTION: heatmap + boxes, also decoded to region-of-interest metas
 *
 * The "task" property: a #GstSparseinferTask, one higher, or auto.
 */
typedef enum {
  GST_CBINFER_CONV_TASK_AUTO = 0,
  GST_CBINFER_CONV_TASK_UNKNOWN = 1 + GST_SPARSEINFER_TASK_UNKNOWN,
  GST_CBINFER_CONV_TASK_SEGMENTATION = 1 + GST_SPARSEINFER_TASK_SEGMENTATION,
  GST_CBINFER_CONV_TASK_CLASSIFICATION = 1 + GST_SPARSEINFER_TASK_CLASSIFICATION,
  GST_CBINFER_CONV_TASK_DETECTION = 1 + GST_SPARSEINFER_TASK_DETECTION,
} GstCbinferConvTask;

G_END_DECLS
