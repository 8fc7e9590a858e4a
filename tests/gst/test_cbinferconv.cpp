// cbinferconv through GstHarness: results against the core engine, state
// resets, latency, QoS, run-time thresholds, detections, caps and bad models.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sparseinfer-meta.h"
#include "sparseinfer/engine.h"
#include "sparseinfer/model.h"
#include "sparseinfer/preprocess.h"

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;
const std::string kSegnet = kModels + "/segnet_small.onnx";
const std::string kDetnet = kModels + "/detnet_small.onnx";
const std::string kClassifier = kModels + "/mobilenetv3_large_w010.onnx";
constexpr int kWidth = 64, kHeight = 32;
constexpr GstClockTime kFrameDuration = GST_SECOND / 30;

std::string rgb_caps(int w, int h) {
  return "video/x-raw,format=RGB,width=" + std::to_string(w) + ",height=" + std::to_string(h) + ",framerate=30/1";
}

// A gradient with a bright square that moves with t: a small change per frame.
std::vector<uint8_t> frame_pixels(int w, int h, int t) {
  std::vector<uint8_t> px(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t *p = &px[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(x * 255 / w);
      p[1] = uint8_t(y * 255 / h);
      p[2] = uint8_t((x + y) * 2);
      const int sx = 4 + 2 * t, sy = 8;
      if (x >= sx && x < sx + 8 && y >= sy && y < sy + 8) p[0] = p[1] = p[2] = 250;
    }
  return px;
}

GstBuffer *frame_buffer(int w, int h, int t, GstClockTime pts) {
  std::vector<uint8_t> px = frame_pixels(w, h, t);
  GstBuffer *buf = gst_buffer_new_memdup(px.data(), px.size());
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = kFrameDuration;
  return buf;
}

GstHarness *harness(const std::string &props, int w = kWidth, int h = kHeight) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  gchar **pairs = g_strsplit(props.c_str(), " ", -1);
  for (gchar **p = pairs; *p; ++p) {
    gchar **kv = g_strsplit(*p, "=", 2);
    if (kv[0] && kv[1]) gst_util_set_object_arg(G_OBJECT(e), kv[0], kv[1]);
    g_strfreev(kv);
  }
  g_strfreev(pairs);
  GstHarness *hs = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  gst_harness_set_src_caps_str(hs, rgb_caps(w, h).c_str());
  return hs;
}

// Pushes frame t and pulls the result (the caller unrefs it).
GstBuffer *push_pull(GstHarness *hs, int t, int w = kWidth, int h = kHeight) {
  fail_unless_equals_int(gst_harness_push(hs, frame_buffer(w, h, t, GstClockTime(t) * kFrameDuration)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(hs);
  fail_unless(out != nullptr);
  return out;
}

const GstSparseinferStreamMeta *stream_meta(GstBuffer *buf) {
  const GstSparseinferStreamMeta *m = gst_buffer_get_sparseinfer_stream_meta(buf);
  fail_unless(m != nullptr && m->stats != nullptr);
  return m;
}

std::vector<float> first_tensor(GstBuffer *buf) {
  const GstSparseinferTensorMeta *m = gst_buffer_get_sparseinfer_tensor_meta(buf);
  fail_unless(m != nullptr && m->n_tensors >= 1);
  const gfloat *f = gst_sparseinfer_tensor_get_floats(&m->tensors[0]);
  fail_unless(f != nullptr);
  return std::vector<float>(f, f + gst_sparseinfer_tensor_get_n_elements(&m->tensors[0]));
}

float max_abs_diff(const std::vector<float> &a, const std::vector<float> &b) {
  fail_unless_equals_int(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

}  // namespace

GST_START_TEST(test_tensor_meta_equals_core_engine) {
  GstHarness *hs = harness("model=" + kSegnet + " mode=dense");
  // The core, by hand, on the same frames with the element's default preprocessing.
  sparseinfer::Model model = sparseinfer::load_model(kSegnet);
  sparseinfer::EngineOptions opt;
  opt.mode = sparseinfer::Mode::Dense;
  opt.input_shapes = {{1, 3, kHeight, kWidth}};
  sparseinfer::Engine engine(model, opt);
  auto state = engine.new_stream();
  sparseinfer::Tensor input;
  for (int t = 0; t < 3; ++t) {
    GstBuffer *out = push_pull(hs, t);
    const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(out);
    fail_unless(tm != nullptr);
    fail_unless_equals_string(tm->model_name, "segnet_small.onnx");
    fail_unless_equals_int(tm->task, GST_SPARSEINFER_TASK_SEGMENTATION);
    // The scores, and the class map the model description (segnet_small.onnx.json) asks for.
    fail_unless_equals_int(tm->n_tensors, 2);
    fail_unless_equals_string(tm->tensors[0].name, "scores");
    fail_unless_equals_int(tm->tensors[0].n_dims, 4);
    fail_unless_equals_int(tm->tensors[0].dims[1], 8);
    fail_unless_equals_int(tm->tensors[0].dims[2], kHeight);
    fail_unless_equals_int(tm->tensors[0].dims[3], kWidth);

    std::vector<uint8_t> px = frame_pixels(kWidth, kHeight, t);
    sparseinfer::preprocess_frame(px.data(), kWidth, kHeight, kWidth * 3, sparseinfer::PixelFormat::RGB, {}, input);
    sparseinfer::FrameResult r = engine.run(*state, {&input});
    const sparseinfer::Tensor &ref = *r.outputs[0];
    std::vector<float> want(ref.f32(), ref.f32() + ref.numel());
    fail_unless(max_abs_diff(first_tensor(out), want) == 0.0f, "frame %d differs from the core engine", t);
    // The class map is the arg-max of those scores, pixel by pixel.
    const GstSparseinferTensor *map = gst_sparseinfer_tensor_meta_get_tensor(tm, "class_map");
    fail_unless(map != nullptr && map->n_dims == 3 && map->dims[1] == kHeight && map->dims[2] == kWidth);
    fail_unless_equals_int(tm->background_class, 0);
    const guint8 *classes = gst_sparseinfer_tensor_get_uint8s(map);
    const size_t plane = size_t(kWidth) * kHeight;
    for (size_t i = 0; i < plane; ++i) {
      size_t best = 0;
      for (size_t c = 1; c < 8; ++c)
        if (want[c * plane + i] > want[best * plane + i]) best = c;
      fail_unless(classes[i] == best, "frame %d pixel %zu: class %u, arg-max %zu", t, i, classes[i], best);
    }
    // A dense engine computes every pixel: the mask is all ones.
    const GstSparseinferStreamMeta *sm = stream_meta(out);
    fail_unless(sm->stats->dense_frame);
    fail_unless_equals_int(sm->mask_width, kWidth);
    fail_unless(gst_sparseinfer_stream_meta_mask_fraction(sm) == 1.0);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_threshold_zero_equals_dense) {
  GstHarness *dense = harness("model=" + kSegnet + " mode=dense");
  GstHarness *change = harness("model=" + kSegnet + " mode=change threshold=0");
  double macs_later = 1.0;
  for (int t = 0; t < 4; ++t) {
    GstBuffer *a = push_pull(dense, t), *b = push_pull(change, t);
    fail_unless(max_abs_diff(first_tensor(a), first_tensor(b)) < 1e-4f, "frame %d: change mode differs", t);
    const GstSparseinferStreamMeta *sm = stream_meta(b);
    fail_unless_equals_int(sm->stats->dense_frame, t == 0);
    fail_unless_equals_int(sm->frame_index, t);
    if (t > 0) {
      macs_later = std::min(macs_later, sm->stats->mac_fraction);
      // Only the moving square changed: the first layer's mask says so.
      const double changed = gst_sparseinfer_stream_meta_mask_fraction(sm);
      fail_unless(changed > 0.0 && changed < 0.2, "changed fraction %f", changed);
      fail_unless(sm->mask[size_t(12) * kWidth + 2 + 2 * t] == 1);  // the square just left
      fail_unless(sm->mask[size_t(30) * kWidth + 60] == 0);         // far from it
    }
    gst_buffer_unref(a);
    gst_buffer_unref(b);
  }
  fail_unless(macs_later < 0.9, "change mode skipped no work (%f)", macs_later);
  gst_harness_teardown(dense);
  gst_harness_teardown(change);
}
GST_END_TEST;

// One unsigned total of the element's stats property.
static guint64 stats_total(GstHarness *hs, const char *field) {
  GstStructure *stats = nullptr;
  g_object_get(hs->element, "stats", &stats, nullptr);
  guint64 value = 0;
  fail_unless(gst_structure_get_uint64(stats, field, &value), "stats without %s", field);
  gst_structure_free(stats);
  return value;
}

static gboolean next_is_dense(GstHarness *hs, int t) {
  GstBuffer *out = push_pull(hs, t);
  const gboolean dense = stream_meta(out)->stats->dense_frame;
  gst_buffer_unref(out);
  return dense;
}

GST_START_TEST(test_state_resets) {
  GstHarness *hs = harness("model=" + kSegnet + " threshold=0.05");
  fail_unless(next_is_dense(hs, 0));
  fail_if(next_is_dense(hs, 1));

  // Flush.
  fail_unless(gst_harness_push_event(hs, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(hs, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(hs, gst_event_new_segment(&segment)));
  fail_unless(next_is_dense(hs, 2));
  fail_if(next_is_dense(hs, 3));

  // New stream-id.
  fail_unless(gst_harness_push_event(hs, gst_event_new_stream_start("another-stream")));
  fail_unless(gst_harness_push_event(hs, gst_event_new_segment(&segment)));
  GstBuffer *out = push_pull(hs, 4);
  fail_unless(stream_meta(out)->stats->dense_frame);
  fail_unless_equals_string(stream_meta(out)->stream_id, "another-stream");
  fail_unless_equals_int(stream_meta(out)->frame_index, 0);
  gst_buffer_unref(out);
  fail_if(next_is_dense(hs, 5));

  // A DISCONT after dropped frames keeps the stream: change mode goes on (issue 14 #1).
  GstBuffer *buf = frame_buffer(kWidth, kHeight, 6, 9 * kFrameDuration);
  GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
  out = gst_harness_pull(hs);
  fail_if(stream_meta(out)->stats->dense_frame);
  fail_unless(stream_meta(out)->stats->inferred);
  gst_buffer_unref(out);

  // A jump in running time beyond reset-gap resets, DISCONT or not; a shorter one does not.
  g_object_set(hs->element, "reset-gap", guint64(GST_SECOND), nullptr);
  buf = frame_buffer(kWidth, kHeight, 6, 9 * kFrameDuration + GST_SECOND / 2);
  fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
  out = gst_harness_pull(hs);
  fail_if(stream_meta(out)->stats->dense_frame);
  gst_buffer_unref(out);
  buf = frame_buffer(kWidth, kHeight, 6, 9 * kFrameDuration + 2 * GST_SECOND);
  fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
  out = gst_harness_pull(hs);
  fail_unless(stream_meta(out)->stats->dense_frame);
  fail_unless_equals_int(stream_meta(out)->frame_index, 0);
  gst_buffer_unref(out);
  g_object_set(hs->element, "reset-gap", guint64(0), nullptr);

  // The same caps again (a renegotiation) keep the stream.
  gst_harness_set_src_caps_str(hs, rgb_caps(kWidth, kHeight).c_str());
  buf = frame_buffer(kWidth, kHeight, 6, 9 * kFrameDuration + 3 * GST_SECOND);
  fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
  out = gst_harness_pull(hs);
  fail_if(stream_meta(out)->stats->dense_frame);
  gst_buffer_unref(out);

  // Caps change to another resolution: the engine follows the frame size.
  gst_harness_set_src_caps_str(hs, rgb_caps(2 * kWidth, kHeight).c_str());
  out = push_pull(hs, 7, 2 * kWidth, kHeight);
  fail_unless(stream_meta(out)->stats->dense_frame);
  const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(out);
  fail_unless_equals_int(tm->tensors[0].dims[3], 2 * kWidth);
  gst_buffer_unref(out);
  out = push_pull(hs, 8, 2 * kWidth, kHeight);
  fail_if(stream_meta(out)->stats->dense_frame);
  gst_buffer_unref(out);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_refresh_and_inference_interval) {
  // Change mode refreshes at threshold 0 (a dense result, not a dense frame);
  // dense mode and the first frame compute densely.
  GstHarness *hs = harness("model=" + kSegnet + " refresh-interval=3");
  for (int t = 0; t < 7; ++t) {
    GstBuffer *out = push_pull(hs, t);
    const GstSparseinferFrameStats *st = stream_meta(out)->stats;
    fail_unless_equals_int(st->dense_frame, t == 0);
    fail_unless_equals_int(st->refresh_frame, t > 0 && t % 3 == 0);
    gst_buffer_unref(out);
  }
  fail_unless_equals_int(stats_total(hs, "refresh-frames"), 2);
  gst_harness_teardown(hs);

  hs = harness("model=" + kSegnet + " inference-interval=3");
  std::vector<float> last;
  for (int t = 0; t < 6; ++t) {
    GstBuffer *out = push_pull(hs, t);
    const GstSparseinferStreamMeta *sm = stream_meta(out);
    fail_unless_equals_int(sm->stats->inferred, t % 3 == 0);
    std::vector<float> now = first_tensor(out);
    if (t % 3 != 0) fail_unless(now == last, "held frame %d lost the last results", t);
    last = now;
    gst_buffer_unref(out);
  }
  fail_unless_equals_int(stats_total(hs, "frames"), 6);
  fail_unless_equals_int(stats_total(hs, "inferred-frames"), 2);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_latency_query_and_message) {
  // Refreshes recur: the latency must cover them.
  GstHarness *hs = harness("model=" + kSegnet + " refresh-interval=3");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(hs->element, bus);
  const GstClockTime upstream = 10 * GST_MSECOND;
  gst_harness_set_upstream_latency(hs, upstream);
  double refresh_ms = 0;
  for (int t = 0; t < 5; ++t) {
    GstBuffer *out = push_pull(hs, t);
    if (stream_meta(out)->stats->refresh_frame) refresh_ms = std::max(refresh_ms, stream_meta(out)->stats->process_ms);
    gst_buffer_unref(out);
  }

  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_pad_peer_query(hs->sinkpad, query));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  gst_query_unref(query);
  GstStructure *stats = nullptr;
  g_object_get(hs->element, "stats", &stats, nullptr);
  gdouble latency_ms = 0;
  fail_unless(gst_structure_get_double(stats, "latency-ms", &latency_ms));
  gst_structure_free(stats);
  fail_unless(latency_ms > 0, "no processing latency estimated");
  // It covers the refreshes, not the mean of the faster change frames (issue 14 #3).
  fail_unless(refresh_ms > 0, "no refresh in 5 frames at refresh-interval=3");
  fail_unless(latency_ms >= refresh_ms, "latency %.2f ms below a refresh's %.2f ms", latency_ms, refresh_ms);
  // latency-ms is the estimate converted to milliseconds: allow its rounding.
  const GstClockTime expected = upstream + GstClockTime(latency_ms * GST_MSECOND);
  fail_unless(min + GST_USECOND >= expected && min <= expected + GST_USECOND,
              "latency %" GST_TIME_FORMAT " != upstream + estimate %" GST_TIME_FORMAT, GST_TIME_ARGS(min),
              GST_TIME_ARGS(expected));

  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY);
  fail_unless(msg != nullptr, "no LATENCY message posted");
  gst_message_unref(msg);
  gst_element_set_bus(hs->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_qos) {
  GstHarness *hs = harness("model=" + kSegnet);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(hs->element, bus);
  for (int t = 0; t < 2; ++t) gst_buffer_unref(push_pull(hs, t));
  // The sink says frames are 100 ms late: everything before 1/30 s + 200 ms is too late.
  const GstClockTime ts = kFrameDuration;
  const GstClockTimeDiff diff = 100 * GST_MSECOND;
  fail_unless(gst_harness_push_upstream_event(hs, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 1.5, diff, ts)));
  const GstClockTime earliest = ts + 2 * diff;

  // Already late: basetransform drops it and posts a QoS message.
  fail_unless_equals_int(gst_harness_push(hs, frame_buffer(kWidth, kHeight, 2, 2 * kFrameDuration)), GST_FLOW_OK);
  fail_unless(gst_harness_try_pull(hs) == nullptr);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_QOS);
  fail_unless(msg != nullptr, "no QoS message for the dropped frame");
  gst_message_unref(msg);

  // In time, but not after inference: it keeps the last results instead.
  fail_unless_equals_int(gst_harness_push(hs, frame_buffer(kWidth, kHeight, 3, earliest + 1)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(hs);
  fail_unless(!stream_meta(out)->stats->inferred);
  fail_unless(gst_buffer_get_sparseinfer_tensor_meta(out) != nullptr);
  gst_buffer_unref(out);

  // Well in time again: inference runs.
  fail_unless_equals_int(gst_harness_push(hs, frame_buffer(kWidth, kHeight, 4, earliest + GST_SECOND)), GST_FLOW_OK);
  out = gst_harness_pull(hs);
  fail_unless(stream_meta(out)->stats->inferred);
  gst_buffer_unref(out);

  fail_unless_equals_int(stats_total(hs, "qos-skipped-frames"), 1);
  gst_element_set_bus(hs->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(hs);
}
GST_END_TEST;

// Issue 14 #2: a prediction that says every frame is late cannot stop
// inference for good: it shrinks while frames are skipped, then a probe infers.
GST_START_TEST(test_qos_never_stops_inference) {
  GstHarness *hs = harness("model=" + kSegnet);
  for (int t = 0; t < 2; ++t) gst_buffer_unref(push_pull(hs, t));
  const GstClockTime ts = kFrameDuration;
  const GstClockTimeDiff diff = 100 * GST_MSECOND;
  fail_unless(gst_harness_push_upstream_event(hs, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 1.5, diff, ts)));
  const GstClockTime earliest = ts + 2 * diff;
  // Every frame lands just after `earliest`: late by any cost, and nothing new from the sink.
  int inferred = 0, since_inferred = 0, longest_run = 0;
  for (int i = 0; i < 40; ++i) {
    fail_unless_equals_int(gst_harness_push(hs, frame_buffer(kWidth, kHeight, 2 + i % 4, earliest + 1 + i)),
                           GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(hs);
    if (stream_meta(out)->stats->inferred) {
      ++inferred;
      since_inferred = 0;
    } else {
      longest_run = std::max(longest_run, ++since_inferred);
    }
    gst_buffer_unref(out);
  }
  fail_unless(inferred >= 2, "QoS stopped inference: %d of 40 frames inferred", inferred);
  fail_unless(longest_run <= 20, "%d frames in a row without inference", longest_run);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_threshold_scale_while_playing) {
  GstHarness *hs = harness("model=" + kSegnet + " threshold=0.2");
  fail_unless_equals_int(GST_STATE(hs->element), GST_STATE_PLAYING);
  gst_buffer_unref(push_pull(hs, 0));
  GstBuffer *out = push_pull(hs, 1);
  const double base = stream_meta(out)->stats->mac_fraction;
  gst_buffer_unref(out);
  fail_unless(base > 0.0);

  // A huge scale: no change passes the threshold, nothing is recomputed.
  g_object_set(hs->element, "threshold-scale", 1000.0f, nullptr);
  out = push_pull(hs, 2);
  fail_unless(stream_meta(out)->stats->mac_fraction < base * 0.5, "scale 1000 did not cut the work");
  fail_unless(gst_sparseinfer_stream_meta_mask_fraction(stream_meta(out)) == 0.0);
  gst_buffer_unref(out);

  // Scale 0: every difference counts again (the rescan of everything skipped so far).
  g_object_set(hs->element, "threshold-scale", 0.0f, nullptr);
  out = push_pull(hs, 3);
  fail_unless(gst_sparseinfer_stream_meta_mask_fraction(stream_meta(out)) > 0.0);
  fail_unless(stream_meta(out)->stats->mac_fraction > 0.0);
  gst_buffer_unref(out);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_detections_as_roi_metas) {
  const float score_threshold = 0.3f, nms = 0.5f;
  std::string props = "model=" + kDetnet + " score-threshold=0.3 nms-threshold=0.5 max-detections=20";
  GstHarness *hs = harness(props, 128, 64);
  GstBuffer *out = push_pull(hs, 0, 128, 64);
  const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(out);
  fail_unless_equals_int(tm->task, GST_SPARSEINFER_TASK_DETECTION);
  fail_unless(gst_sparseinfer_tensor_meta_get_tensor(tm, "heatmap") != nullptr);
  fail_unless(gst_sparseinfer_tensor_meta_get_tensor(tm, "boxes") != nullptr);

  std::vector<GstVideoRegionOfInterestMeta *> rois;
  gpointer state = nullptr;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered(out, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    rois.push_back(reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta));
  fail_unless(!rois.empty(), "no detections above %f", score_threshold);
  fail_unless(rois.size() <= 20);
  for (size_t i = 0; i < rois.size(); ++i) {
    GstStructure *det = gst_video_region_of_interest_meta_get_param(rois[i], "detection");
    fail_unless(det != nullptr);
    gdouble conf;
    gint label;
    fail_unless(gst_structure_get_double(det, "confidence", &conf) && conf >= score_threshold);
    fail_unless(gst_structure_get_int(det, "label-id", &label) && label >= 0 && label < 3);
    fail_unless(rois[i]->x + rois[i]->w <= 128 + 1 && rois[i]->y + rois[i]->h <= 64 + 1);
    for (size_t j = 0; j < i; ++j) {
      if (rois[i]->roi_type != rois[j]->roi_type) continue;
      const GstVideoRegionOfInterestMeta &a = *rois[i], &b = *rois[j];
      const double iw = std::min(a.x + a.w, b.x + b.w) - double(std::max(a.x, b.x));
      const double ih = std::min(a.y + a.h, b.y + b.h) - double(std::max(a.y, b.y));
      if (iw <= 0 || ih <= 0) continue;
      const double iou = iw * ih / (double(a.w) * a.h + double(b.w) * b.h - iw * ih);
      fail_unless(iou <= nms + 0.05, "NMS kept two overlapping boxes (IoU %f)", iou);
    }
  }
  gst_buffer_unref(out);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_classification_resized_input) {
  GstHarness *hs = harness("model=" + kClassifier + " input-width=96 input-height=48");
  GstBuffer *out = push_pull(hs, 0);
  const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(out);
  fail_unless_equals_int(tm->task, GST_SPARSEINFER_TASK_CLASSIFICATION);
  fail_unless_equals_int(tm->tensors[0].n_dims, 2);
  fail_unless_equals_int(tm->tensors[0].dims[1], 3);
  // The mask lives on the network input grid, not the frame's.
  fail_unless_equals_int(stream_meta(out)->mask_width, 96);
  fail_unless_equals_int(stream_meta(out)->mask_height, 48);
  gst_buffer_unref(out);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_refuses_yuv_caps) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  GstPad *sink = gst_element_get_static_pad(e, "sink");
  for (const char *format : {"I420", "NV12", "YUY2"}) {
    GstCaps *caps = gst_caps_from_string(
        (std::string("video/x-raw,format=") + format + ",width=64,height=32,framerate=30/1").c_str());
    fail_if(gst_pad_query_accept_caps(sink, caps), "%s accepted", format);
    gst_caps_unref(caps);
  }
  GstCaps *caps = gst_caps_from_string(rgb_caps(64, 32).c_str());
  fail_unless(gst_pad_query_accept_caps(sink, caps));
  gst_caps_unref(caps);
  gst_object_unref(sink);
  gst_object_unref(e);
}
GST_END_TEST;

// Brings the element to PAUSED with the given model; returns the error text.
static std::string start_error(const std::string &model, const char *extra = nullptr) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  g_object_set(e, "model", model.c_str(), nullptr);
  if (extra) gst_util_set_object_arg(G_OBJECT(e), "backend", extra);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "no error message");
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  std::string text = err->message;
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_element_set_bus(e, nullptr);
  gst_object_unref(bus);
  gst_object_unref(e);
  return text;
}

GST_START_TEST(test_bad_models) {
  std::string text = start_error("/nonexistent/net.onnx");
  fail_unless(text.find("/nonexistent/net.onnx") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("does not exist") != std::string::npos, "%s", text.c_str());

  // A truncated copy.
  gchar *contents = nullptr;
  gsize size = 0;
  fail_unless(g_file_get_contents(kSegnet.c_str(), &contents, &size, nullptr));
  gchar *dir = g_dir_make_tmp("cbinferconv-XXXXXX", nullptr);
  const std::string truncated = std::string(dir) + "/truncated.onnx";
  fail_unless(g_file_set_contents(truncated.c_str(), contents, gssize(size / 3), nullptr));
  g_free(contents);
  text = start_error(truncated);
  fail_unless(text.find(truncated) != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("truncated or corrupted") != std::string::npos, "%s", text.c_str());
  g_unlink(truncated.c_str());
  g_rmdir(dir);
  g_free(dir);

  text = start_error(SPARSEINFER_FIXTURES_DIR "/unsupported_op.onnx");
  fail_unless(text.find("unsupported_op.onnx") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("unsupported operator 'Einsum'") != std::string::npos, "%s", text.c_str());

  text = start_error(kSegnet, "cuda");
  fail_unless(text.find("cuda") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

static Suite *cbinferconv_suite(void) {
  Suite *s = suite_create("cbinferconv");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_tensor_meta_equals_core_engine);
  tcase_add_test(tc, test_threshold_zero_equals_dense);
  tcase_add_test(tc, test_state_resets);
  tcase_add_test(tc, test_refresh_and_inference_interval);
  tcase_add_test(tc, test_latency_query_and_message);
  tcase_add_test(tc, test_qos);
  tcase_add_test(tc, test_qos_never_stops_inference);
  tcase_add_test(tc, test_threshold_scale_while_playing);
  tcase_add_test(tc, test_detections_as_roi_metas);
  tcase_add_test(tc, test_classification_resized_input);
  tcase_add_test(tc, test_refuses_yuv_caps);
  tcase_add_test(tc, test_bad_models);
  return s;
}

GST_CHECK_MAIN(cbinferconv);
