/* GstSparseinferTensorMeta: registration, init/free and transforms. */
#include "gstsparseinfertensormeta.h"

#include <gst/video/video.h>

#include <cstring>

namespace {

gsize dtype_size(GstSparseinferDType dtype) {
  switch (dtype) {
    case GST_SPARSEINFER_DTYPE_INT64:
      return sizeof(gint64);
    case GST_SPARSEINFER_DTYPE_UINT8:
      return sizeof(guint8);
    case GST_SPARSEINFER_DTYPE_FLOAT32:
      break;
  }
  return sizeof(gfloat);
}

gboolean tensor_meta_init(GstMeta *meta, gpointer, GstBuffer *) {
  auto *tmeta = reinterpret_cast<GstSparseinferTensorMeta *>(meta);
  tmeta->model_name = nullptr;
  tmeta->task = GST_SPARSEINFER_TASK_UNKNOWN;
  tmeta->n_tensors = 0;
  tmeta->tensors = nullptr;
  tmeta->labels = nullptr;
  tmeta->background_class = -1;
  return TRUE;
}

void tensor_meta_free(GstMeta *meta, GstBuffer *) {
  auto *tmeta = reinterpret_cast<GstSparseinferTensorMeta *>(meta);
  for (guint i = 0; i < tmeta->n_tensors; ++i) {
    g_free(tmeta->tensors[i].name);
    g_bytes_unref(tmeta->tensors[i].data);
  }
  g_free(tmeta->tensors);
  g_free(tmeta->model_name);
  g_strfreev(tmeta->labels);
}

/* Tensors describe the whole frame whatever its resolution, so a copy and a
 * scaled copy carry the same tensors (shared, not duplicated). */
gboolean tensor_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *, GQuark type, gpointer data) {
  auto *src = reinterpret_cast<GstSparseinferTensorMeta *>(meta);
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    auto *copy = static_cast<GstMetaTransformCopy *>(data);
    if (copy->region) return FALSE; /* a part of the frame: the tensors no longer describe it */
  } else if (type != gst_video_meta_transform_scale_get_quark()) {
    return FALSE;
  }
  GstSparseinferTensorMeta *dst = gst_buffer_add_sparseinfer_tensor_meta(dest, src->model_name, src->task);
  if (!dst) return FALSE;
  gst_sparseinfer_tensor_meta_set_labels(dst, src->labels);
  dst->background_class = src->background_class;
  for (guint i = 0; i < src->n_tensors; ++i) {
    const GstSparseinferTensor &t = src->tensors[i];
    gst_sparseinfer_tensor_meta_add_tensor_bytes(dst, t.name, t.dtype, t.n_dims, t.dims, t.data);
  }
  return TRUE;
}

}  // namespace

GType gst_sparseinfer_task_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SPARSEINFER_TASK_UNKNOWN, "Unknown", "unknown"},
      {GST_SPARSEINFER_TASK_SEGMENTATION, "Per-pixel class scores", "segmentation"},
      {GST_SPARSEINFER_TASK_CLASSIFICATION, "Class logits for the frame", "classification"},
      {GST_SPARSEINFER_TASK_DETECTION, "Boxes with class and confidence", "detection"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstSparseinferTask", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

const gchar *gst_sparseinfer_task_to_string(GstSparseinferTask task) {
  switch (task) {
    case GST_SPARSEINFER_TASK_SEGMENTATION:
      return "segmentation";
    case GST_SPARSEINFER_TASK_CLASSIFICATION:
      return "classification";
    case GST_SPARSEINFER_TASK_DETECTION:
      return "detection";
    case GST_SPARSEINFER_TASK_UNKNOWN:
      break;
  }
  return "unknown";
}

GType gst_sparseinfer_tensor_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, nullptr};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstSparseinferTensorMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo *gst_sparseinfer_tensor_meta_get_info(void) {
  static const GstMetaInfo *info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo *i =
        gst_meta_register(GST_SPARSEINFER_TENSOR_META_API_TYPE, "GstSparseinferTensorMeta",
                          sizeof(GstSparseinferTensorMeta), tensor_meta_init, tensor_meta_free, tensor_meta_transform);
    g_once_init_leave(&info, i);
  }
  return info;
}

GstSparseinferTensorMeta *gst_buffer_add_sparseinfer_tensor_meta(GstBuffer *buffer, const gchar *model_name,
                                                                 GstSparseinferTask task) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  auto *meta = reinterpret_cast<GstSparseinferTensorMeta *>(
      gst_buffer_add_meta(buffer, GST_SPARSEINFER_TENSOR_META_INFO, nullptr));
  if (!meta) return nullptr;
  meta->model_name = g_strdup(model_name);
  meta->task = task;
  return meta;
}

void gst_sparseinfer_tensor_meta_set_labels(GstSparseinferTensorMeta *meta, const gchar *const *labels) {
  g_return_if_fail(meta != nullptr);
  g_strfreev(meta->labels);
  meta->labels = labels ? g_strdupv(const_cast<gchar **>(labels)) : nullptr;
}

const gchar *gst_sparseinfer_tensor_meta_get_label(const GstSparseinferTensorMeta *meta, gint id) {
  g_return_val_if_fail(meta != nullptr, nullptr);
  if (!meta->labels || id < 0) return nullptr;
  for (gint i = 0; meta->labels[i]; ++i)
    if (i == id) return meta->labels[i];
  return nullptr;
}

gboolean gst_sparseinfer_tensor_meta_add_tensor_bytes(GstSparseinferTensorMeta *meta, const gchar *name,
                                                      GstSparseinferDType dtype, guint n_dims, const gint64 *dims,
                                                      GBytes *data) {
  g_return_val_if_fail(meta != nullptr && name != nullptr && data != nullptr, FALSE);
  g_return_val_if_fail(n_dims <= GST_SPARSEINFER_TENSOR_MAX_DIMS && (n_dims == 0 || dims), FALSE);
  gint64 n = 1;
  for (guint i = 0; i < n_dims; ++i) {
    g_return_val_if_fail(dims[i] >= 0, FALSE);
    n *= dims[i];
  }
  g_return_val_if_fail(g_bytes_get_size(data) == gsize(n) * dtype_size(dtype), FALSE);

  meta->tensors = g_renew(GstSparseinferTensor, meta->tensors, meta->n_tensors + 1);
  GstSparseinferTensor &t = meta->tensors[meta->n_tensors++];
  t.name = g_strdup(name);
  t.dtype = dtype;
  t.n_dims = n_dims;
  std::memset(t.dims, 0, sizeof(t.dims));
  for (guint i = 0; i < n_dims; ++i) t.dims[i] = dims[i];
  t.data = g_bytes_ref(data);
  return TRUE;
}

gboolean gst_sparseinfer_tensor_meta_add_tensor(GstSparseinferTensorMeta *meta, const gchar *name,
                                                GstSparseinferDType dtype, guint n_dims, const gint64 *dims,
                                                gconstpointer data, gsize size) {
  g_return_val_if_fail(data != nullptr || size == 0, FALSE);
  GBytes *bytes = g_bytes_new(data, size);
  gboolean ok = gst_sparseinfer_tensor_meta_add_tensor_bytes(meta, name, dtype, n_dims, dims, bytes);
  g_bytes_unref(bytes);
  return ok;
}

const GstSparseinferTensor *gst_sparseinfer_tensor_meta_get_tensor(const GstSparseinferTensorMeta *meta,
                                                                   const gchar *name) {
  g_return_val_if_fail(meta != nullptr && name != nullptr, nullptr);
  for (guint i = 0; i < meta->n_tensors; ++i)
    if (g_strcmp0(meta->tensors[i].name, name) == 0) return &meta->tensors[i];
  return nullptr;
}

gint64 gst_sparseinfer_tensor_get_n_elements(const GstSparseinferTensor *tensor) {
  g_return_val_if_fail(tensor != nullptr, 0);
  gint64 n = 1;
  for (guint i = 0; i < tensor->n_dims; ++i) n *= tensor->dims[i];
  return n;
}

const gfloat *gst_sparseinfer_tensor_get_floats(const GstSparseinferTensor *tensor) {
  g_return_val_if_fail(tensor != nullptr, nullptr);
  if (tensor->dtype != GST_SPARSEINFER_DTYPE_FLOAT32) return nullptr;
  return static_cast<const gfloat *>(g_bytes_get_data(tensor->data, nullptr));
}

const guint8 *gst_sparseinfer_tensor_get_uint8s(const GstSparseinferTensor *tensor) {
  g_return_val_if_fail(tensor != nullptr, nullptr);
  if (tensor->dtype != GST_SPARSEINFER_DTYPE_UINT8) return nullptr;
  return static_cast<const guint8 *>(g_bytes_get_data(tensor->data, nullptr));
}
