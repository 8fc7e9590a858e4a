// saliencyscheduler through GstHarness: the tensor meta on every buffer, the
// fixed schedule's stream pattern and delays, results equal to the core
// runner, the saliency state on the stream meta, resets, stats messages and
// errors for missing or mismatched models.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sparseinfer-meta.h"
#include "sparseinfer/dual_stream.h"

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;
const std::string kLarge = kModels + "/saliency_large.onnx";
const std::string kSmall = kModels + "/saliency_small.onnx";
constexpr GstClockTime kFrameDuration = GST_SECOND / 30;

// Frames at the large model's own input size (as the contract renders them).
struct Size {
  int w, h;
};

Size model_size() {
  sparseinfer::DualStreamOptions o;
  o.large_model = kLarge;
  o.small_model = kSmall;
  o.threads = 1;
  sparseinfer::DualStreamRunner r(o);
  return {r.input_width(), r.input_height()};
}

// A gradient with a red square that moves with t.
std::vector<uint8_t> frame_pixels(Size s, int t) {
  std::vector<uint8_t> px(size_t(s.w) * s.h * 3);
  for (int y = 0; y < s.h; ++y)
    for (int x = 0; x < s.w; ++x) {
      uint8_t *p = &px[(size_t(y) * s.w + x) * 3];
      const int sx = 10 + 3 * t, sy = 12;
      const bool in = x >= sx && x < sx + 12 && y >= sy && y < sy + 24;
      p[0] = in ? 240 : uint8_t(x * 255 / s.w);
      p[1] = in ? 20 : uint8_t(y * 255 / s.h);
      p[2] = in ? 20 : 70;
    }
  return px;
}

GstBuffer *frame_buffer(Size s, int t) {
  std::vector<uint8_t> px = frame_pixels(s, t);
  GstBuffer *buf = gst_buffer_new_memdup(px.data(), px.size());
  GST_BUFFER_PTS(buf) = GstClockTime(t) * kFrameDuration;
  GST_BUFFER_DURATION(buf) = kFrameDuration;
  return buf;
}

GstHarness *harness(const std::string &props, Size s) {
  GstElement *e = gst_element_factory_make("saliencyscheduler", nullptr);
  fail_unless(e != nullptr, "saliencyscheduler is not registered");
  g_object_set(e, "large-model", kLarge.c_str(), "small-model", kSmall.c_str(), "threads", 1, nullptr);
  gchar **pairs = g_strsplit(props.c_str(), " ", -1);
  for (gchar **p = pairs; *p; ++p) {
    gchar **kv = g_strsplit(*p, "=", 2);
    if (kv[0] && kv[1]) gst_util_set_object_arg(G_OBJECT(e), kv[0], kv[1]);
    g_strfreev(kv);
  }
  g_strfreev(pairs);
  GstHarness *hs = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  const std::string caps =
      "video/x-raw,format=RGB,width=" + std::to_string(s.w) + ",height=" + std::to_string(s.h) + ",framerate=30/1";
  gst_harness_set_src_caps_str(hs, caps.c_str());
  return hs;
}

GstBuffer *push_pull(GstHarness *hs, Size s, int t) {
  fail_unless_equals_int(gst_harness_push(hs, frame_buffer(s, t)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(hs);
  fail_unless(out != nullptr);
  return out;
}

// A bus of the test's own on `element`, for its messages (a harness has none).
GstBus *watch_bus(GstElement *element) {
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  return bus;
}

void unwatch_bus(GstElement *element, GstBus *bus) {
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
}

gint64 int_tensor(const GstSparseinferTensorMeta *m, const char *name) {
  const GstSparseinferTensor *t = gst_sparseinfer_tensor_meta_get_tensor(m, name);
  fail_unless(t != nullptr, "no tensor '%s'", name);
  fail_unless_equals_int(t->dtype, GST_SPARSEINFER_DTYPE_INT64);
  fail_unless_equals_int(t->n_dims, 1);
  fail_unless_equals_int(t->dims[0], 1);
  gsize size = 0;
  const auto *v = static_cast<const gint64 *>(g_bytes_get_data(t->data, &size));
  fail_unless_equals_int(size, sizeof(gint64));
  return v[0];
}

struct FrameOut {
  gint64 stream, delay, macs;
  std::vector<float> probs;
  guint64 frame_index;
  gint64 large_frame;  // from the saliency state, -1 when absent
};

FrameOut read(GstBuffer *buf) {
  FrameOut f;
  const GstSparseinferTensorMeta *m = gst_buffer_get_sparseinfer_tensor_meta(buf);
  fail_unless(m != nullptr, "no tensor meta");
  fail_unless_equals_int(m->task, GST_SPARSEINFER_TASK_CLASSIFICATION);
  // The class names of the large model's "labels" metadata travel on every frame.
  fail_unless_equals_string(gst_sparseinfer_tensor_meta_get_label(m, 0), "relevant red");
  fail_unless_equals_string(gst_sparseinfer_tensor_meta_get_label(m, 2), "no relevant light");
  fail_unless(gst_sparseinfer_tensor_meta_get_label(m, 3) == nullptr);
  const GstSparseinferTensor *p = gst_sparseinfer_tensor_meta_get_tensor(m, "probabilities");
  fail_unless(p != nullptr);
  fail_unless_equals_int(p->n_dims, 2);
  fail_unless_equals_int(p->dims[0], 1);
  fail_unless_equals_int(p->dims[1], 3);
  const gfloat *v = gst_sparseinfer_tensor_get_floats(p);
  fail_unless(v != nullptr);
  f.probs.assign(v, v + 3);
  f.stream = int_tensor(m, "stream");
  f.delay = int_tensor(m, "delay");
  f.macs = int_tensor(m, "macs");
  const GstSparseinferStreamMeta *sm = gst_buffer_get_sparseinfer_stream_meta(buf);
  fail_unless(sm != nullptr && sm->stats != nullptr);
  f.frame_index = sm->frame_index;
  f.large_frame = sm->saliency ? gint64(sm->saliency->large_frame_index) : -1;
  return f;
}

}  // namespace

GST_START_TEST(test_period_3_pattern_and_results) {
  const Size s = model_size();
  GstHarness *hs = harness("period=3", s);
  // The core runner by hand, on the same frames.
  sparseinfer::DualStreamOptions o;
  o.large_model = kLarge;
  o.small_model = kSmall;
  o.threads = 1;
  sparseinfer::DualStreamRunner runner(o);
  auto state = runner.new_stream();

  const GstSparseinferSaliencyState *last_snapshot = nullptr;
  std::string pattern;
  for (int t = 0; t < 7; ++t) {
    GstBuffer *out = push_pull(hs, s, t);
    FrameOut f = read(out);
    pattern += f.stream == 0 ? 'L' : 's';
    fail_unless_equals_int(f.delay, t % 3);
    fail_unless_equals_int(f.frame_index, t);
    fail_unless_equals_int(f.large_frame, t - t % 3);
    fail_unless_equals_int(f.macs, f.stream == 0 ? runner.large_macs() : runner.small_macs_dense());
    float sum = 0;
    for (float p : f.probs) sum += p;
    fail_unless(std::fabs(sum - 1.0f) < 1e-5f);

    std::vector<uint8_t> px = frame_pixels(s, t);
    sparseinfer::DualStreamResult r = runner.run(*state, px.data(), s.w, s.h, s.w * 3, sparseinfer::PixelFormat::RGB);
    fail_unless_equals_int(f.stream, gint64(r.stream));
    for (int c = 0; c < 3; ++c) fail_unless(std::fabs(f.probs[size_t(c)] - r.probabilities[size_t(c)]) < 1e-5f);

    // The stream meta carries the maps of the last large run: one shared object per run.
    const GstSparseinferStreamMeta *sm = gst_buffer_get_sparseinfer_stream_meta(out);
    fail_unless(sm->saliency != nullptr);
    fail_unless_equals_int(sm->saliency->n_maps, 2);
    const GstSparseinferSaliencyMap *a = gst_sparseinfer_saliency_state_get_map(sm->saliency, "saliency_a");
    fail_unless(a != nullptr);
    const sparseinfer::Tensor &ma = state->saliency_maps()[0];
    fail_unless_equals_int(a->width, ma.dim(3));
    fail_unless_equals_int(a->height, ma.dim(2));
    for (int64_t i = 0; i < ma.numel(); ++i) fail_unless(a->data[i] == ma.f32()[i]);
    if (f.stream == 1) fail_unless(sm->saliency == last_snapshot, "small frames share the large run's snapshot");
    last_snapshot = sm->saliency;
    gst_buffer_unref(out);
  }
  fail_unless_equals_string(pattern.c_str(), "LssLssL");
  gst_harness_teardown(hs);
}
GST_END_TEST;

// The first frame after saliencyscheduler ! sparseinferoverlay `overlay_props`, as bytes (no statistics
// line: its timings differ from run to run).
std::vector<guint8> overlaid_frame(const std::string &overlay_props, Size s) {
  const std::string launch = "saliencyscheduler large-model=\"" + kLarge + "\" small-model=\"" + kSmall +
                             "\" threads=1 ! sparseinferoverlay stats=false " + overlay_props;
  GstHarness *hs = gst_harness_new_parse(launch.c_str());
  const std::string caps =
      "video/x-raw,format=RGB,width=" + std::to_string(s.w) + ",height=" + std::to_string(s.h) + ",framerate=30/1";
  gst_harness_set_caps_str(hs, caps.c_str(), caps.c_str());
  GstBuffer *out = push_pull(hs, s, 0);
  GstMapInfo map;
  fail_unless(gst_buffer_map(out, &map, GST_MAP_READ));
  std::vector<guint8> bytes(map.data, map.data + map.size);
  gst_buffer_unmap(out, &map);
  gst_buffer_unref(out);
  gst_harness_teardown(hs);
  return bytes;
}

GST_START_TEST(test_overlay_names_classes_from_model_metadata) {
  const Size s = model_size();
  const std::vector<guint8> from_metadata = overlaid_frame("", s);
  const std::vector<guint8> named = overlaid_frame("labels=\"relevant red,all relevant green,no relevant light\"", s);
  const std::vector<guint8> renamed = overlaid_frame("labels=\"stop,go,none\"", s);
  fail_unless(from_metadata == named, "without a labels property the overlay uses the model's names");
  fail_unless(from_metadata != renamed, "the labels property overrides the model's names");
  fail_unless(from_metadata != frame_pixels(s, 0), "the overlay drew nothing");
}
GST_END_TEST;

// The latency query adds the large model's processing time once it has run; a LATENCY message tells the pipeline.
GST_START_TEST(test_latency) {
  const Size s = model_size();
  GstHarness *hs = harness("period=3", s);
  GstBus *bus = watch_bus(hs->element);
  const GstClockTime upstream = 10 * GST_MSECOND;
  gst_harness_set_upstream_latency(hs, upstream);
  auto query_min = [hs]() {
    GstQuery *query = gst_query_new_latency();
    fail_unless(gst_pad_peer_query(hs->sinkpad, query));
    GstClockTime min;
    gst_query_parse_latency(query, nullptr, &min, nullptr);
    gst_query_unref(query);
    return min;
  };
  fail_unless_equals_uint64(query_min(), upstream);  // nothing measured yet
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY) == nullptr);
  gst_buffer_unref(push_pull(hs, s, 0));  // the large model
  const GstClockTime after_large = query_min();
  fail_unless(after_large > upstream, "the large model's processing time was not added");
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY);
  fail_unless(msg != nullptr, "no LATENCY message posted");
  gst_message_unref(msg);
  for (int t = 1; t < 3; ++t) gst_buffer_unref(push_pull(hs, s, t));  // small frames leave it unchanged
  fail_unless_equals_uint64(query_min(), after_large);
  unwatch_bus(hs->element, bus);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_resets) {
  const Size s = model_size();
  GstHarness *hs = harness("period=3", s);
  for (int t = 0; t < 2; ++t) gst_buffer_unref(push_pull(hs, s, t));

  // Flush: the next frame runs the large model with k = 0.
  fail_unless(gst_harness_push_event(hs, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(hs, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(hs, gst_event_new_segment(&segment)));
  GstBuffer *out = push_pull(hs, s, 2);
  FrameOut f = read(out);
  fail_unless_equals_int(f.stream, 0);
  fail_unless_equals_int(f.delay, 0);
  fail_unless_equals_int(f.frame_index, 0);
  gst_buffer_unref(out);
  f = read(out = push_pull(hs, s, 3));
  fail_unless_equals_int(f.stream, 1);
  fail_unless_equals_int(f.delay, 1);
  gst_buffer_unref(out);

  // A DISCONT alone (dropped frames) keeps the schedule; a gap beyond reset-gap resets it.
  GstBuffer *buf = frame_buffer(s, 4);
  GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
  f = read(out = gst_harness_pull(hs));
  fail_unless_equals_int(f.stream, 1);
  gst_buffer_unref(out);
  g_object_set(hs->element, "reset-gap", guint64(GST_SECOND / 10), nullptr);
  buf = frame_buffer(s, 4);
  GST_BUFFER_PTS(buf) += GST_SECOND;
  fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
  f = read(out = gst_harness_pull(hs));
  fail_unless_equals_int(f.stream, 0);
  fail_unless_equals_int(f.frame_index, 0);
  gst_buffer_unref(out);
  g_object_set(hs->element, "reset-gap", guint64(0), nullptr);

  // New stream.
  f = read(out = push_pull(hs, s, 5));
  fail_unless_equals_int(f.stream, 1);
  gst_buffer_unref(out);
  fail_unless(gst_harness_push_event(hs, gst_event_new_stream_start("another-stream")));
  fail_unless(gst_harness_push_event(hs, gst_event_new_segment(&segment)));
  f = read(out = push_pull(hs, s, 6));
  fail_unless_equals_int(f.stream, 0);
  fail_unless_equals_string(gst_buffer_get_sparseinfer_stream_meta(out)->stream_id, "another-stream");
  gst_buffer_unref(out);

  // Caps change (another frame size: resized to the model's input).
  const Size twice{2 * s.w, 2 * s.h};
  const std::string caps = "video/x-raw,format=RGB,width=" + std::to_string(twice.w) +
                           ",height=" + std::to_string(twice.h) + ",framerate=30/1";
  gst_harness_set_src_caps_str(hs, caps.c_str());
  f = read(out = push_pull(hs, twice, 7));
  fail_unless_equals_int(f.stream, 0);
  gst_buffer_unref(out);
  f = read(out = push_pull(hs, twice, 8));
  fail_unless_equals_int(f.stream, 1);
  gst_buffer_unref(out);
  gst_harness_teardown(hs);
}
GST_END_TEST;

GST_START_TEST(test_emit_stats) {
  const Size s = model_size();
  GstHarness *hs = harness("period=2 emit-stats=true", s);
  GstBus *bus = watch_bus(hs->element);
  for (int t = 0; t < 3; ++t) gst_buffer_unref(push_pull(hs, s, t));
  const char *want[] = {"large", "small", "large"};
  for (int t = 0; t < 3; ++t) {
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    fail_unless(msg != nullptr);
    const GstStructure *st = gst_message_get_structure(msg);
    fail_unless(gst_structure_has_name(st, "sparseinfer-frame-stats"));
    fail_unless_equals_string(gst_structure_get_string(st, "stream"), want[t]);
    gint64 delay = -1;
    fail_unless(gst_structure_get_int64(st, "delay", &delay));
    fail_unless_equals_int(delay, t % 2);
    guint64 running_time = 0;
    fail_unless(gst_structure_get_uint64(st, "running-time", &running_time));
    fail_unless_equals_uint64(running_time, guint64(t) * kFrameDuration);
    gst_message_unref(msg);
  }
  unwatch_bus(hs->element, bus);
  gst_harness_teardown(hs);
}
GST_END_TEST;

// The adaptive triggers are element properties: on frames where a red square moves, a change trigger of 0
// (every change counts) runs the large model early for "scene-change"; a trigger of 1 never does.
static std::vector<std::string> adaptive_reasons(const std::string &props, Size s, int frames) {
  GstHarness *hs = harness("schedule=adaptive max-cost=0.6 margin-trigger=0 " + props + " emit-stats=true", s);
  GstBus *bus = watch_bus(hs->element);
  std::vector<std::string> reasons;
  for (int t = 0; t < frames; ++t) {
    gst_buffer_unref(push_pull(hs, s, t));
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    fail_unless(msg != nullptr);
    reasons.emplace_back(gst_structure_get_string(gst_message_get_structure(msg), "reason"));
    gst_message_unref(msg);
  }
  unwatch_bus(hs->element, bus);
  gst_harness_teardown(hs);
  return reasons;
}

GST_START_TEST(test_adaptive_trigger_properties) {
  const Size s = model_size();
  auto count = [](const std::vector<std::string> &r, const char *what) { return std::count(r.begin(), r.end(), what); };
  const std::vector<std::string> eager = adaptive_reasons("change-trigger=0 change-pixel-threshold=0.05", s, 6);
  const std::vector<std::string> never = adaptive_reasons("change-trigger=1", s, 6);
  fail_unless(count(eager, "scene-change") > 0, "change-trigger=0 never triggered the large model");
  fail_unless_equals_int(count(never, "scene-change"), 0);

  GstElement *e = gst_element_factory_make("saliencyscheduler", nullptr);
  gdouble change = 0, margin = 0;
  gfloat pixel = 0;
  g_object_get(e, "change-trigger", &change, "margin-trigger", &margin, "change-pixel-threshold", &pixel, nullptr);
  // The defaults are the core's.
  fail_unless(change == sparseinfer::ScheduleOptions{}.change_trigger);
  fail_unless(margin == sparseinfer::ScheduleOptions{}.margin_trigger);
  fail_unless(pixel == sparseinfer::DualStreamOptions{}.change_pixel_threshold);
  gst_object_unref(e);
}
GST_END_TEST;

// Brings the element to PAUSED; returns the error text.
static std::string start_error(const std::string &large, const std::string &small, bool tiny_budget = false) {
  GstElement *e = gst_element_factory_make("saliencyscheduler", nullptr);
  g_object_set(e, "large-model", large.c_str(), "small-model", small.c_str(), nullptr);
  if (tiny_budget) {
    gst_util_set_object_arg(G_OBJECT(e), "schedule", "adaptive");
    g_object_set(e, "max-cost", 0.001, nullptr);
  }
  GstBus *bus = watch_bus(e);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "no error message");
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  std::string text = err->message;
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_state(e, GST_STATE_NULL);
  unwatch_bus(e, bus);
  gst_object_unref(e);
  return text;
}

GST_START_TEST(test_bad_models) {
  std::string text = start_error("/nonexistent/large.onnx", kSmall);
  fail_unless(text.find("/nonexistent/large.onnx") != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("does not exist") != std::string::npos, "%s", text.c_str());
  text = start_error(kLarge, "");
  fail_unless(text.find("small-model") != std::string::npos, "%s", text.c_str());
  // The models swapped: the contract check names the file.
  text = start_error(kSmall, kLarge);
  fail_unless(text.find("saliency_small.onnx") != std::string::npos, "%s", text.c_str());
  // A budget below the small model's own cost.
  text = start_error(kLarge, kSmall, true);
  fail_unless(text.find("max-cost") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

static Suite *saliencyscheduler_suite(void) {
  Suite *s = suite_create("saliencyscheduler");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_period_3_pattern_and_results);
  tcase_add_test(tc, test_resets);
  tcase_add_test(tc, test_overlay_names_classes_from_model_metadata);
  tcase_add_test(tc, test_latency);
  tcase_add_test(tc, test_adaptive_trigger_properties);
  tcase_add_test(tc, test_emit_stats);
  tcase_add_test(tc, test_bad_models);
  return s;
}

GST_CHECK_MAIN(saliencyscheduler);
