/* GstSparseinferStreamMeta: registration, init/free and transforms. */
#include "gstsparseinferstreammeta.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace {

gboolean stream_meta_init(GstMeta *meta, gpointer, GstBuffer *) {
  auto *smeta = reinterpret_cast<GstSparseinferStreamMeta *>(meta);
  smeta->stream_id = nullptr;
  smeta->frame_index = 0;
  smeta->stats = nullptr;
  smeta->mask = nullptr;
  smeta->mask_width = 0;
  smeta->mask_height = 0;
  smeta->saliency = nullptr;
  return TRUE;
}

void stream_meta_free(GstMeta *meta, GstBuffer *) {
  auto *smeta = reinterpret_cast<GstSparseinferStreamMeta *>(meta);
  g_free(smeta->stream_id);
  g_free(smeta->mask);
  if (smeta->stats) gst_sparseinfer_frame_stats_unref(smeta->stats);
  if (smeta->saliency) gst_sparseinfer_saliency_state_unref(smeta->saliency);
}

// Nearest-neighbour resampling: the mask is binary, interpolating would invent values.
void resample_mask(const guint8 *src, guint sw, guint sh, guint8 *dst, guint dw, guint dh) {
  for (guint y = 0; y < dh; ++y) {
    const guint sy = std::min<guint>(sh - 1, guint((y + 0.5) * sh / dh));
    for (guint x = 0; x < dw; ++x) {
      const guint sx = std::min<guint>(sw - 1, guint((x + 0.5) * sw / dw));
      dst[gsize(y) * dw + x] = src[gsize(sy) * sw + sx];
    }
  }
}

guint scaled(guint size, gint to, gint from) {
  if (from <= 0 || to <= 0) return size;
  return std::max<guint>(1, guint(std::lround(double(size) * to / from)));
}

gboolean stream_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *, GQuark type, gpointer data) {
  auto *src = reinterpret_cast<GstSparseinferStreamMeta *>(meta);
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    auto *copy = static_cast<GstMetaTransformCopy *>(data);
    if (copy->region) return FALSE;  // the mask covers the whole frame
    GstSparseinferStreamMeta *dst =
        gst_buffer_add_sparseinfer_stream_meta(dest, src->stats, src->mask, src->mask_width, src->mask_height);
    if (!dst) return FALSE;
    gst_sparseinfer_stream_meta_set_saliency(dst, src->saliency);
    return TRUE;
  }
  if (type != gst_video_meta_transform_scale_get_quark()) return FALSE;
  // Keep the mask's cells the same size relative to the frame's pixels.
  auto *trans = static_cast<GstVideoMetaTransform *>(data);
  GstSparseinferStreamMeta *dst = gst_buffer_add_sparseinfer_stream_meta(dest, src->stats, nullptr, 0, 0);
  if (!dst) return FALSE;
  // Saliency maps sit on the network's grid, not the frame's: scaling leaves them as they are.
  gst_sparseinfer_stream_meta_set_saliency(dst, src->saliency);
  if (src->mask) {
    const guint w =
        scaled(src->mask_width, GST_VIDEO_INFO_WIDTH(trans->out_info), GST_VIDEO_INFO_WIDTH(trans->in_info));
    const guint h =
        scaled(src->mask_height, GST_VIDEO_INFO_HEIGHT(trans->out_info), GST_VIDEO_INFO_HEIGHT(trans->in_info));
    dst->mask = static_cast<guint8 *>(g_malloc(gsize(w) * h));
    dst->mask_width = w;
    dst->mask_height = h;
    resample_mask(src->mask, src->mask_width, src->mask_height, dst->mask, w, h);
  }
  return TRUE;
}

}  // namespace

GType gst_sparseinfer_stream_meta_api_get_type(void) {
  static GType type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, nullptr};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstSparseinferStreamMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

const GstMetaInfo *gst_sparseinfer_stream_meta_get_info(void) {
  static const GstMetaInfo *info = nullptr;
  if (g_once_init_enter(&info)) {
    const GstMetaInfo *i =
        gst_meta_register(GST_SPARSEINFER_STREAM_META_API_TYPE, "GstSparseinferStreamMeta",
                          sizeof(GstSparseinferStreamMeta), stream_meta_init, stream_meta_free, stream_meta_transform);
    g_once_init_leave(&info, i);
  }
  return info;
}

GstSparseinferStreamMeta *gst_buffer_add_sparseinfer_stream_meta(GstBuffer *buffer, GstSparseinferFrameStats *stats,
                                                                 const guint8 *mask, guint mask_width,
                                                                 guint mask_height) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer), nullptr);
  g_return_val_if_fail(stats != nullptr, nullptr);
  auto *meta = reinterpret_cast<GstSparseinferStreamMeta *>(
      gst_buffer_add_meta(buffer, GST_SPARSEINFER_STREAM_META_INFO, nullptr));
  if (!meta) return nullptr;
  meta->stats = gst_sparseinfer_frame_stats_ref(stats);
  meta->stream_id = g_strdup(stats->stream_id);
  meta->frame_index = stats->frame_index;
  if (mask && mask_width > 0 && mask_height > 0) {
    meta->mask = static_cast<guint8 *>(g_memdup2(mask, gsize(mask_width) * mask_height));
    meta->mask_width = mask_width;
    meta->mask_height = mask_height;
  }
  return meta;
}

void gst_sparseinfer_stream_meta_set_saliency(GstSparseinferStreamMeta *meta, GstSparseinferSaliencyState *saliency) {
  g_return_if_fail(meta != nullptr);
  if (saliency) gst_sparseinfer_saliency_state_ref(saliency);
  if (meta->saliency) gst_sparseinfer_saliency_state_unref(meta->saliency);
  meta->saliency = saliency;
}

gdouble gst_sparseinfer_stream_meta_mask_fraction(const GstSparseinferStreamMeta *meta) {
  g_return_val_if_fail(meta != nullptr, 0.0);
  const gsize n = gsize(meta->mask_width) * meta->mask_height;
  if (!meta->mask || n == 0) return 0.0;
  gsize set = 0;
  for (gsize i = 0; i < n; ++i) set += meta->mask[i] != 0;
  return double(set) / double(n);
}
