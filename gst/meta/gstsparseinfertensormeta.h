/* GstSparseinferTensorMeta: the output tensors of one inference, attached
 * to the video frame they were computed from.
 *
 * Tensors are named, typed and shaped as the model's graph outputs declare
 * them (NCHW). Their data is held in refcounted immutable GBytes, so copies
 * of a buffer share it. The task hint tells a consumer how to read them
 * without knowing the model. */
#pragma once

#include <gst/gst.h>

#include "sparseinfer-meta-prelude.h"

G_BEGIN_DECLS

/**
 * GstSparseinferTask:
 * @GST_SPARSEINFER_TASK_UNKNOWN: no interpretation is known
 * @GST_SPARSEINFER_TASK_SEGMENTATION: one tensor [1, classes, h, w] of
 *   per-pixel class scores covering the whole frame; a model with a
 *   description (MODEL.onnx.json) adds the decoded "class_map" (uint8
 *   [1, H, W], a class id per pixel of the frame) and names its background
 *   class in @background_class
 * @GST_SPARSEINFER_TASK_CLASSIFICATION: one tensor [1, classes] of logits
 * @GST_SPARSEINFER_TASK_DETECTION: the detector's outputs ("heatmap"
 *   [1, classes, h, w] and "boxes" [1, 4, h, w] without a description; a
 *   described SSD's "box_encodings" and "scores") and the decoded
 *   "detections" (float [N, 6]: x1, y1, x2, y2 in frame pixels, confidence,
 *   class id); boxes are also attached as GstVideoRegionOfInterestMeta
 */
typedef enum {
  GST_SPARSEINFER_TASK_UNKNOWN = 0,
  GST_SPARSEINFER_TASK_SEGMENTATION = 1,
  GST_SPARSEINFER_TASK_CLASSIFICATION = 2,
  GST_SPARSEINFER_TASK_DETECTION = 3,
} GstSparseinferTask;

GST_SPARSEINFER_META_API GType gst_sparseinfer_task_get_type(void);
#define GST_TYPE_SPARSEINFER_TASK (gst_sparseinfer_task_get_type())

/**
 * GstSparseinferDType:
 * @GST_SPARSEINFER_DTYPE_FLOAT32: 32-bit IEEE float, native byte order
 * @GST_SPARSEINFER_DTYPE_INT64: 64-bit signed integer, native byte order
 * @GST_SPARSEINFER_DTYPE_UINT8: 8-bit unsigned integer (class maps)
 */
typedef enum {
  GST_SPARSEINFER_DTYPE_FLOAT32 = 0,
  GST_SPARSEINFER_DTYPE_INT64 = 1,
  GST_SPARSEINFER_DTYPE_UINT8 = 2,
} GstSparseinferDType;

#define GST_SPARSEINFER_TENSOR_MAX_DIMS 8

/**
 * GstSparseinferTensor:
 * @name: the graph output name
 * @dtype: element type
 * @n_dims: number of valid entries in @dims
 * @dims: the shape, outermost first
 * @data: the elements, row-major (C order)
 */
typedef struct {
  gchar *name;
  GstSparseinferDType dtype;
  guint n_dims;
  gint64 dims[GST_SPARSEINFER_TENSOR_MAX_DIMS];
  GBytes *data;
} GstSparseinferTensor;

typedef struct _GstSparseinferTensorMeta GstSparseinferTensorMeta;

/**
 * GstSparseinferTensorMeta:
 * @meta: parent
 * @model_name: file name of the model (without directories)
 * @task: how to read the tensors
 * @n_tensors: number of tensors
 * @tensors: (array length=n_tensors): the graph outputs, in graph order
 * @labels: (array zero-terminated=1) (nullable): class names by class index,
 *   from the model's description or its "labels" metadata entry; NULL when
 *   the model has none
 * @background_class: the class id of the background in "class_map" (what
 *   an overlay leaves undrawn), or -1 when no class is the background
 */
struct _GstSparseinferTensorMeta {
  GstMeta meta;
  gchar *model_name;
  GstSparseinferTask task;
  guint n_tensors;
  GstSparseinferTensor *tensors;
  gchar **labels;
  gint background_class;
};

GST_SPARSEINFER_META_API GType gst_sparseinfer_tensor_meta_api_get_type(void);
#define GST_SPARSEINFER_TENSOR_META_API_TYPE (gst_sparseinfer_tensor_meta_api_get_type())

GST_SPARSEINFER_META_API const GstMetaInfo *gst_sparseinfer_tensor_meta_get_info(void);
#define GST_SPARSEINFER_TENSOR_META_INFO (gst_sparseinfer_tensor_meta_get_info())

#define gst_buffer_get_sparseinfer_tensor_meta(b) \
  ((GstSparseinferTensorMeta *)gst_buffer_get_meta((b), GST_SPARSEINFER_TENSOR_META_API_TYPE))

GST_SPARSEINFER_META_API
GstSparseinferTensorMeta *gst_buffer_add_sparseinfer_tensor_meta(GstBuffer *buffer, const gchar *model_name,
                                                                 GstSparseinferTask task);

/* Copies @size bytes of @data into the meta; @size must equal the product of
 * @dims times the element size. Returns FALSE (and adds nothing) otherwise. */
GST_SPARSEINFER_META_API
gboolean gst_sparseinfer_tensor_meta_add_tensor(GstSparseinferTensorMeta *meta, const gchar *name,
                                                GstSparseinferDType dtype, guint n_dims, const gint64 *dims,
                                                gconstpointer data, gsize size);

/* Adds a tensor sharing @data (a reference is taken). */
GST_SPARSEINFER_META_API
gboolean gst_sparseinfer_tensor_meta_add_tensor_bytes(GstSparseinferTensorMeta *meta, const gchar *name,
                                                      GstSparseinferDType dtype, guint n_dims, const gint64 *dims,
                                                      GBytes *data);

/* Replaces the class names with a copy of @labels (NULL-terminated; NULL clears them). */
GST_SPARSEINFER_META_API
void gst_sparseinfer_tensor_meta_set_labels(GstSparseinferTensorMeta *meta, const gchar *const *labels);

/* The name of class @id, or NULL when the meta has no name for it. */
GST_SPARSEINFER_META_API
const gchar *gst_sparseinfer_tensor_meta_get_label(const GstSparseinferTensorMeta *meta, gint id);

/* The tensor called @name, or NULL. */
GST_SPARSEINFER_META_API
const GstSparseinferTensor *gst_sparseinfer_tensor_meta_get_tensor(const GstSparseinferTensorMeta *meta,
                                                                   const gchar *name);

/* Number of elements (product of the dims). */
GST_SPARSEINFER_META_API
gint64 gst_sparseinfer_tensor_get_n_elements(const GstSparseinferTensor *tensor);

/* The float data of a FLOAT32 tensor, or NULL for another dtype. */
GST_SPARSEINFER_META_API
const gfloat *gst_sparseinfer_tensor_get_floats(const GstSparseinferTensor *tensor);

/* The bytes of a UINT8 tensor, or NULL for another dtype. */
GST_SPARSEINFER_META_API
const guint8 *gst_sparseinfer_tensor_get_uint8s(const GstSparseinferTensor *tensor);

GST_SPARSEINFER_META_API const gchar *gst_sparseinfer_task_to_string(GstSparseinferTask task);

G_END_DECLS
