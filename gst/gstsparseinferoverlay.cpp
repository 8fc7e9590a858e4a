/**
 * SECTION:element-sparseinferoverlay
 * @title: sparseinferoverlay
 * @see_also: cbinferconv, saliencyscheduler
 *
 * Draws the results cbinferconv or saliencyscheduler attached to a frame onto the frame itself,
 * in place: segmentation classes as a colour blend (a described model's
 * decoded class map, where background pixels stay as they are; otherwise
 * the argmax over the class scores, stretched over the frame), the top-k classes of a classifier
 * with their probabilities (for saliencyscheduler also which network ran,
 * "(large)" or "(small k=N)"), detection boxes from the
 * #GstVideoRegionOfInterestMeta with class and confidence, the change mask of
 * the first layer as a heat map, and a line of statistics (share of the
 * dense multiply-accumulates executed, milliseconds).
 *
 * Every layer can be switched on and off and has an opacity; text uses a
 * small built-in bitmap font, so the element needs no font libraries. Frames
 * without metas pass unchanged.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc pattern=ball ! video/x-raw,width=320,height=240 ! videoconvert ! \
 *     cbinferconv model=segnet_small.onnx ! sparseinferoverlay change-mask=true ! videoconvert ! autovideosink
 * ]| Shows the segmentation and, as a heat map, where the network saw changes.
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     cbinferconv model=detnet_small.onnx input-width=384 input-height=288 ! \
 *     sparseinferoverlay labels="person,car,bike" ! videoconvert ! avenc_mpeg4 ! avimux ! \
 *     filesink location=annotated.avi
 * ]| Writes a video with the detections drawn.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gstsparseinferelements.h"
#include "gstsparseinferoverlay.h"
#include "overlay_canvas.h"
#include "sparseinfer-meta.h"
#include "sparseinfer/model.h"

GST_DEBUG_CATEGORY_STATIC(gst_sparseinfer_overlay_debug);
#define GST_CAT_DEFAULT gst_sparseinfer_overlay_debug

namespace si = sparseinfer;
namespace sg = sparseinfer::gst;

#define DEFAULT_SEGMENTATION TRUE
#define DEFAULT_CLASSIFICATION TRUE
#define DEFAULT_DETECTIONS TRUE
#define DEFAULT_CHANGE_MASK FALSE
#define DEFAULT_STATS TRUE
#define DEFAULT_SEGMENTATION_OPACITY 0.4f
#define DEFAULT_MASK_OPACITY 0.5f
#define DEFAULT_TOP_K 3
#define MAX_TOP_K 20
#define DEFAULT_TEXT_SCALE 2
#define MAX_TEXT_SCALE 16
#define DEFAULT_LINE_WIDTH 2
#define MAX_LINE_WIDTH 32

enum {
  PROP_0,
  PROP_SEGMENTATION,
  PROP_CLASSIFICATION,
  PROP_DETECTIONS,
  PROP_CHANGE_MASK,
  PROP_STATS,
  PROP_SEGMENTATION_OPACITY,
  PROP_MASK_OPACITY,
  PROP_TOP_K,
  PROP_LABELS,
  PROP_TEXT_SCALE,
  PROP_LINE_WIDTH,
};

#define VIDEO_FORMATS "{ RGB, BGR, RGBx, BGRx, RGBA, BGRA, GRAY8 }"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));

struct _GstSparseinferOverlay {
  GstVideoFilter parent;

  /* Settings, under the object lock. */
  gboolean segmentation, classification, detections, change_mask, stats;
  gfloat segmentation_opacity, mask_opacity;
  guint top_k;
  gchar *labels;
  guint text_scale, line_width;
};

#define gst_sparseinfer_overlay_parent_class parent_class
G_DEFINE_TYPE(GstSparseinferOverlay, gst_sparseinfer_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(sparseinferoverlay, "sparseinferoverlay", GST_RANK_NONE, GST_TYPE_SPARSEINFER_OVERLAY);

static void gst_sparseinfer_overlay_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec);
static void gst_sparseinfer_overlay_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_sparseinfer_overlay_finalize(GObject *object);
static GstFlowReturn gst_sparseinfer_overlay_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame);

static void gst_sparseinfer_overlay_class_init(GstSparseinferOverlayClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);
  const auto flags = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  gobject_class->set_property = gst_sparseinfer_overlay_set_property;
  gobject_class->get_property = gst_sparseinfer_overlay_get_property;
  gobject_class->finalize = gst_sparseinfer_overlay_finalize;

  g_object_class_install_property(
      gobject_class, PROP_SEGMENTATION,
      g_param_spec_boolean("segmentation", "Segmentation", "Blend the segmentation classes over the frame",
                           DEFAULT_SEGMENTATION, flags));
  g_object_class_install_property(
      gobject_class, PROP_CLASSIFICATION,
      g_param_spec_boolean("classification", "Classification", "Write the top-k classes with their probabilities",
                           DEFAULT_CLASSIFICATION, flags));
  g_object_class_install_property(
      gobject_class, PROP_DETECTIONS,
      g_param_spec_boolean("detections", "Detections", "Draw the region-of-interest boxes with class and confidence",
                           DEFAULT_DETECTIONS, flags));
  g_object_class_install_property(
      gobject_class, PROP_CHANGE_MASK,
      g_param_spec_boolean("change-mask", "Change mask", "Draw where the first layer accepted changes as a heat map",
                           DEFAULT_CHANGE_MASK, flags));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boolean("stats", "Statistics", "Write the frame's MAC share, time and dense/sparse state",
                           DEFAULT_STATS, flags));
  g_object_class_install_property(
      gobject_class, PROP_SEGMENTATION_OPACITY,
      g_param_spec_float("segmentation-opacity", "Segmentation opacity", "Opacity of the class colours", 0.0f, 1.0f,
                         DEFAULT_SEGMENTATION_OPACITY, flags));
  g_object_class_install_property(gobject_class, PROP_MASK_OPACITY,
                                  g_param_spec_float("mask-opacity", "Mask opacity", "Opacity of the change heat map",
                                                     0.0f, 1.0f, DEFAULT_MASK_OPACITY, flags));
  g_object_class_install_property(
      gobject_class, PROP_TOP_K,
      g_param_spec_uint("top-k", "Top k", "Classification: classes listed", 1, MAX_TOP_K, DEFAULT_TOP_K, flags));
  g_object_class_install_property(
      gobject_class, PROP_LABELS,
      g_param_spec_string("labels", "Labels",
                          "Class names by class id, separated by commas (default: the names in the model's "
                          "\"labels\" metadata, else the class number)",
                          nullptr, flags));
  g_object_class_install_property(gobject_class, PROP_TEXT_SCALE,
                                  g_param_spec_uint("text-scale", "Text scale", "Screen pixels per font pixel", 1,
                                                    MAX_TEXT_SCALE, DEFAULT_TEXT_SCALE, flags));
  g_object_class_install_property(gobject_class, PROP_LINE_WIDTH,
                                  g_param_spec_uint("line-width", "Line width", "Box outline width in pixels", 1,
                                                    MAX_LINE_WIDTH, DEFAULT_LINE_WIDTH, flags));

  gst_element_class_set_static_metadata(element_class, "Inference result overlay", "Filter/Effect/Video",
                                        "Draws segmentation, classification, detections and the change mask "
                                        "that cbinferconv attached to the frame",
                                        "sparseinfer developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_sparseinfer_overlay_transform_frame_ip);
  GST_DEBUG_CATEGORY_INIT(gst_sparseinfer_overlay_debug, "sparseinferoverlay", 0, "sparseinfer result overlay");
}

static void gst_sparseinfer_overlay_init(GstSparseinferOverlay *self) {
  self->segmentation = DEFAULT_SEGMENTATION;
  self->classification = DEFAULT_CLASSIFICATION;
  self->detections = DEFAULT_DETECTIONS;
  self->change_mask = DEFAULT_CHANGE_MASK;
  self->stats = DEFAULT_STATS;
  self->segmentation_opacity = DEFAULT_SEGMENTATION_OPACITY;
  self->mask_opacity = DEFAULT_MASK_OPACITY;
  self->top_k = DEFAULT_TOP_K;
  self->labels = nullptr;
  self->text_scale = DEFAULT_TEXT_SCALE;
  self->line_width = DEFAULT_LINE_WIDTH;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_sparseinfer_overlay_finalize(GObject *object) {
  g_free(GST_SPARSEINFER_OVERLAY(object)->labels);
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_sparseinfer_overlay_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec) {
  GstSparseinferOverlay *self = GST_SPARSEINFER_OVERLAY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_SEGMENTATION:
      self->segmentation = g_value_get_boolean(value);
      break;
    case PROP_CLASSIFICATION:
      self->classification = g_value_get_boolean(value);
      break;
    case PROP_DETECTIONS:
      self->detections = g_value_get_boolean(value);
      break;
    case PROP_CHANGE_MASK:
      self->change_mask = g_value_get_boolean(value);
      break;
    case PROP_STATS:
      self->stats = g_value_get_boolean(value);
      break;
    case PROP_SEGMENTATION_OPACITY:
      self->segmentation_opacity = g_value_get_float(value);
      break;
    case PROP_MASK_OPACITY:
      self->mask_opacity = g_value_get_float(value);
      break;
    case PROP_TOP_K:
      self->top_k = g_value_get_uint(value);
      break;
    case PROP_LABELS:
      g_free(self->labels);
      self->labels = g_value_dup_string(value);
      break;
    case PROP_TEXT_SCALE:
      self->text_scale = g_value_get_uint(value);
      break;
    case PROP_LINE_WIDTH:
      self->line_width = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_sparseinfer_overlay_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstSparseinferOverlay *self = GST_SPARSEINFER_OVERLAY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_SEGMENTATION:
      g_value_set_boolean(value, self->segmentation);
      break;
    case PROP_CLASSIFICATION:
      g_value_set_boolean(value, self->classification);
      break;
    case PROP_DETECTIONS:
      g_value_set_boolean(value, self->detections);
      break;
    case PROP_CHANGE_MASK:
      g_value_set_boolean(value, self->change_mask);
      break;
    case PROP_STATS:
      g_value_set_boolean(value, self->stats);
      break;
    case PROP_SEGMENTATION_OPACITY:
      g_value_set_float(value, self->segmentation_opacity);
      break;
    case PROP_MASK_OPACITY:
      g_value_set_float(value, self->mask_opacity);
      break;
    case PROP_TOP_K:
      g_value_set_uint(value, self->top_k);
      break;
    case PROP_LABELS:
      g_value_set_string(value, self->labels);
      break;
    case PROP_TEXT_SCALE:
      g_value_set_uint(value, self->text_scale);
      break;
    case PROP_LINE_WIDTH:
      g_value_set_uint(value, self->line_width);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

namespace {

struct Settings {
  gboolean segmentation, classification, detections, change_mask, stats;
  float segmentation_opacity, mask_opacity;
  guint top_k;
  std::vector<std::string> labels;
  int text_scale, line_width;
};

std::string label_of(const Settings &s, int id) {
  if (id >= 0 && size_t(id) < s.labels.size() && !s.labels[size_t(id)].empty()) return s.labels[size_t(id)];
  return "class " + std::to_string(id);
}

sg::Canvas canvas_for(GstVideoFrame *frame) {
  auto *pixels = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  const GstVideoFormatInfo *fi = frame->info.finfo;
  const int bpp = GST_VIDEO_FORMAT_INFO_PSTRIDE(fi, 0);
  if (GST_VIDEO_FORMAT_INFO_IS_GRAY(fi))
    return sg::Canvas(pixels, GST_VIDEO_FRAME_WIDTH(frame), GST_VIDEO_FRAME_HEIGHT(frame),
                      GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0), 1, 0, 0, 0);
  return sg::Canvas(pixels, GST_VIDEO_FRAME_WIDTH(frame), GST_VIDEO_FRAME_HEIGHT(frame),
                    GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0), bpp, GST_VIDEO_FORMAT_INFO_POFFSET(fi, 0),
                    GST_VIDEO_FORMAT_INFO_POFFSET(fi, 1), GST_VIDEO_FORMAT_INFO_POFFSET(fi, 2));
}

// Argmax over channels of a [1, C, h, w] score tensor.
void draw_segmentation(sg::Canvas &canvas, const GstSparseinferTensor &t, float opacity) {
  const gfloat *scores = gst_sparseinfer_tensor_get_floats(&t);
  if (!scores || t.n_dims != 4 || t.dims[1] < 1) return;
  const int64_t classes = t.dims[1], h = t.dims[2], w = t.dims[3], plane = h * w;
  std::vector<int> labels(size_t(plane), 0);
  for (int64_t i = 0; i < plane; ++i) {
    int best = 0;
    float best_score = scores[i];
    for (int64_t c = 1; c < classes; ++c)
      if (scores[c * plane + i] > best_score) {
        best_score = scores[c * plane + i];
        best = int(c);
      }
    labels[size_t(i)] = best;
  }
  canvas.blend_label_map(labels, int(w), int(h), opacity);
}

// A decoded class map (uint8 [1, h, w] or [h, w], a class per pixel of the
// frame): the foreground classes tinted, the background class left as it is.
void draw_class_map(sg::Canvas &canvas, const GstSparseinferTensor &t, gint background_class, float opacity) {
  const guint8 *classes = gst_sparseinfer_tensor_get_uint8s(&t);
  if (!classes || t.n_dims < 2) return;
  const int64_t h = t.dims[t.n_dims - 2], w = t.dims[t.n_dims - 1];
  if (h < 1 || w < 1 || gst_sparseinfer_tensor_get_n_elements(&t) != h * w) return;
  std::vector<int> labels(size_t(h * w));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = classes[i] == background_class ? -1 : int(classes[i]);
  canvas.blend_label_map(labels, int(w), int(h), opacity);
}

// A scalar int64 tensor's value, or `def` when the meta has no such tensor.
gint64 int_tensor(const GstSparseinferTensorMeta &m, const char *name, gint64 def) {
  const GstSparseinferTensor *t = gst_sparseinfer_tensor_meta_get_tensor(&m, name);
  if (!t || t->dtype != GST_SPARSEINFER_DTYPE_INT64 || gst_sparseinfer_tensor_get_n_elements(t) != 1) return def;
  return *static_cast<const gint64 *>(g_bytes_get_data(t->data, nullptr));
}

// Best k classes listed top-left: a "probabilities" tensor (saliencyscheduler)
// as it is, else the softmax of the first tensor's [1, C] logits. A dual-stream
// frame also says which network ran: "(large)" or "(small k=2)" (the font has no brackets).
void draw_classification(sg::Canvas &canvas, const GstSparseinferTensorMeta &m, const Settings &s) {
  const GstSparseinferTensor *probs_tensor = gst_sparseinfer_tensor_meta_get_tensor(&m, "probabilities");
  const GstSparseinferTensor &t = probs_tensor ? *probs_tensor : m.tensors[0];
  const gfloat *values = gst_sparseinfer_tensor_get_floats(&t);
  const int64_t n = gst_sparseinfer_tensor_get_n_elements(&t);
  if (!values || n < 1) return;
  std::vector<std::pair<float, int>> probs;
  if (probs_tensor) {
    for (int64_t i = 0; i < n; ++i) probs.emplace_back(values[i], int(i));
  } else {
    const float top = *std::max_element(values, values + n);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(values[i] - top);
    for (int64_t i = 0; i < n; ++i) probs.emplace_back(std::exp(values[i] - top) / sum, int(i));
  }
  std::sort(probs.begin(), probs.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
  const gint64 stream = int_tensor(m, "stream", -1), delay = int_tensor(m, "delay", 0);
  int y = 0;
  for (size_t i = 0; i < probs.size() && i < s.top_k; ++i) {
    gchar *line = g_strdup_printf("%s %.2f", label_of(s, probs[i].second).c_str(), double(probs[i].first));
    std::string text = line;
    g_free(line);
    if (i == 0 && stream == 0) text += " (large)";
    if (i == 0 && stream == 1) text += " (small k=" + std::to_string(delay) + ")";
    canvas.draw_text(0, y, text, s.text_scale, sg::class_colour(probs[i].second));
    y += sg::Canvas::text_height(s.text_scale);
  }
}

void draw_detections(sg::Canvas &canvas, GstBuffer *buf, const Settings &s) {
  gpointer state = nullptr;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
    gint label = -1;
    gdouble confidence = -1;
    if (GstStructure *det = gst_video_region_of_interest_meta_get_param(roi, "detection")) {
      gst_structure_get_int(det, "label-id", &label);
      gst_structure_get_double(det, "confidence", &confidence);
    }
    const sg::Rgb colour = sg::class_colour(std::max(label, 0));
    canvas.draw_rect(int(roi->x), int(roi->y), int(roi->w), int(roi->h), s.line_width, colour);
    std::string text = label >= 0 ? label_of(s, label) : g_quark_to_string(roi->roi_type);
    if (confidence >= 0) {
      gchar *score = g_strdup_printf(" %.2f", confidence);
      text += score;
      g_free(score);
    }
    const int th = sg::Canvas::text_height(s.text_scale);
    canvas.draw_text(int(roi->x), std::max(0, int(roi->y) - th), text, s.text_scale, colour);
  }
}

void draw_change_mask(sg::Canvas &canvas, const GstSparseinferStreamMeta &m, float opacity) {
  if (!m.mask || m.mask_width == 0 || m.mask_height == 0) return;
  std::vector<float> heat(size_t(m.mask_width) * m.mask_height);
  for (size_t i = 0; i < heat.size(); ++i) heat[i] = m.mask[i] ? 1.0f : 0.0f;
  canvas.blend_heat_map(heat, int(m.mask_width), int(m.mask_height), opacity);
}

void draw_stats(sg::Canvas &canvas, const GstSparseinferStreamMeta &m, const Settings &s) {
  const GstSparseinferFrameStats *st = m.stats;
  gchar *line;
  if (!st->inferred)
    line = g_strdup_printf("#%" G_GUINT64_FORMAT " HELD", m.frame_index);
  else
    line = g_strdup_printf("#%" G_GUINT64_FORMAT " %s MAC %.1f%% CHG %.1f%% %.1f MS", m.frame_index,
                           st->dense_frame     ? "DENSE"
                           : st->refresh_frame ? "REFRESH"
                                               : "SPARSE",
                           100.0 * st->mac_fraction, 100.0 * st->changed_fraction, st->process_ms);
  // Narrow frames get a smaller font rather than a line cut off at the edge.
  int scale = s.text_scale;
  while (scale > 1 && sg::Canvas::text_width(line, scale) > canvas.width()) --scale;
  const int th = sg::Canvas::text_height(scale);
  canvas.draw_text(0, canvas.height() - th, line, scale, sg::Rgb{255, 255, 255});
  g_free(line);
}

}  // namespace

static GstFlowReturn gst_sparseinfer_overlay_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
  GstSparseinferOverlay *self = GST_SPARSEINFER_OVERLAY(filter);
  Settings s;
  GST_OBJECT_LOCK(self);
  s.segmentation = self->segmentation;
  s.classification = self->classification;
  s.detections = self->detections;
  s.change_mask = self->change_mask;
  s.stats = self->stats;
  s.segmentation_opacity = self->segmentation_opacity;
  s.mask_opacity = self->mask_opacity;
  s.top_k = self->top_k;
  s.text_scale = int(self->text_scale);
  s.line_width = int(self->line_width);
  if (self->labels) s.labels = si::split_labels(self->labels);
  GST_OBJECT_UNLOCK(self);

  GstBuffer *buf = frame->buffer;
  sg::Canvas canvas = canvas_for(frame);
  const GstSparseinferTensorMeta *tensors = gst_buffer_get_sparseinfer_tensor_meta(buf);
  const GstSparseinferStreamMeta *stream = gst_buffer_get_sparseinfer_stream_meta(buf);
  // The labels property wins; otherwise the names the model carries in its metadata.
  if (s.labels.empty() && tensors && tensors->labels)
    for (gchar **p = tensors->labels; *p; ++p) s.labels.emplace_back(*p);

  if (tensors && tensors->n_tensors > 0) {
    const GstSparseinferTensor &first = tensors->tensors[0];
    const GstSparseinferTensor *class_map = gst_sparseinfer_tensor_meta_get_tensor(tensors, "class_map");
    if (s.segmentation && tensors->task == GST_SPARSEINFER_TASK_SEGMENTATION) {
      if (class_map)
        draw_class_map(canvas, *class_map, tensors->background_class, s.segmentation_opacity);
      else
        draw_segmentation(canvas, first, s.segmentation_opacity);
    }
    if (s.classification && tensors->task == GST_SPARSEINFER_TASK_CLASSIFICATION)
      draw_classification(canvas, *tensors, s);
  }
  if (stream && s.change_mask) draw_change_mask(canvas, *stream, s.mask_opacity);
  if (s.detections) draw_detections(canvas, buf, s);
  if (stream && s.stats && stream->stats) draw_stats(canvas, *stream, s);
  return GST_FLOW_OK;
}
