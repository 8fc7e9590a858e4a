// cbinferconv's gate property (Skip-Conv's gates, docs/gates.md): every gate
// kind of the core is a value of it, each one equals the dense element at
// threshold 0, a structured gate's change mask comes in whole k x k cells, and
// the property works in a gst-launch pipeline.
#include <cmath>
#include <string>
#include <vector>

#include "sparseinfer-meta.h"
#include "sparseinfer/engine.h"

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "run_to_eos.h"

namespace {

const std::string kSegnet = std::string(SPARSEINFER_MODELS_DIR) + "/segnet_small.onnx";
constexpr int kWidth = 64, kHeight = 32;
constexpr GstClockTime kFrameDuration = GST_SECOND / 30;

// A gradient with a bright square that moves with t.
GstBuffer *frame_buffer(int t) {
  std::vector<uint8_t> px(size_t(kWidth) * kHeight * 3);
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      uint8_t *p = &px[(size_t(y) * kWidth + x) * 3];
      p[0] = uint8_t(x * 255 / kWidth);
      p[1] = uint8_t(y * 255 / kHeight);
      p[2] = uint8_t((x + y) * 2);
      const int sx = 5 + 3 * t, sy = 9;
      if (x >= sx && x < sx + 7 && y >= sy && y < sy + 7) p[0] = p[1] = p[2] = 250;
    }
  GstBuffer *buf = gst_buffer_new_memdup(px.data(), px.size());
  GST_BUFFER_PTS(buf) = GstClockTime(t) * kFrameDuration;
  GST_BUFFER_DURATION(buf) = kFrameDuration;
  return buf;
}

GstHarness *harness(const std::string &mode, const std::string &gate) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  fail_unless(e != nullptr);
  gst_util_set_object_arg(G_OBJECT(e), "model", kSegnet.c_str());
  gst_util_set_object_arg(G_OBJECT(e), "mode", mode.c_str());
  gst_util_set_object_arg(G_OBJECT(e), "gate", gate.c_str());
  g_object_set(e, "threshold", 0.0f, nullptr);
  GstHarness *hs = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  std::string caps = "video/x-raw,format=RGB,width=" + std::to_string(kWidth) + ",height=" + std::to_string(kHeight) +
                     ",framerate=30/1";
  gst_harness_set_src_caps_str(hs, caps.c_str());
  return hs;
}

std::vector<float> first_tensor(GstBuffer *buf) {
  const GstSparseinferTensorMeta *m = gst_buffer_get_sparseinfer_tensor_meta(buf);
  fail_unless(m != nullptr && m->n_tensors >= 1);
  const gfloat *f = gst_sparseinfer_tensor_get_floats(&m->tensors[0]);
  fail_unless(f != nullptr);
  return std::vector<float>(f, f + gst_sparseinfer_tensor_get_n_elements(&m->tensors[0]));
}

}  // namespace

GST_START_TEST(test_gate_values_are_the_core_kinds) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  fail_unless(e != nullptr);
  GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "gate");
  fail_unless(spec != nullptr && G_IS_PARAM_SPEC_ENUM(spec));
  GEnumClass *kinds = G_PARAM_SPEC_ENUM(spec)->enum_class;
  const std::vector<std::string> names = sparseinfer::gate_names();
  fail_unless_equals_int(kinds->n_values, names.size());
  for (const std::string &n : names)
    fail_unless(g_enum_get_value_by_nick(kinds, n.c_str()) != nullptr, "%s", n.c_str());
  // Default: CBinfer's threshold gate, as before the property existed.
  gint value = -1;
  g_object_get(e, "gate", &value, nullptr);
  fail_unless_equals_string(g_enum_get_value(kinds, value)->value_nick, "threshold");
  gst_util_set_object_arg(G_OBJECT(e), "gate", "output-norm-4x4");
  g_object_get(e, "gate", &value, nullptr);
  fail_unless_equals_string(g_enum_get_value(kinds, value)->value_nick, "output-norm-4x4");
  gst_object_unref(e);
}
GST_END_TEST;

GST_START_TEST(test_every_gate_equals_dense_at_threshold_zero) {
  for (const std::string &gate : sparseinfer::gate_names()) {
    GstHarness *dense = harness("dense", "threshold");
    GstHarness *change = harness("change", gate);
    double work = 1.0;
    const size_t k = gate.find("-2x2") != std::string::npos   ? 2
                     : gate.find("-4x4") != std::string::npos ? 4
                     : gate.find("-8x8") != std::string::npos ? 8
                                                              : 1;
    for (int t = 0; t < 4; ++t) {
      fail_unless_equals_int(gst_harness_push(dense, frame_buffer(t)), GST_FLOW_OK);
      fail_unless_equals_int(gst_harness_push(change, frame_buffer(t)), GST_FLOW_OK);
      GstBuffer *a = gst_harness_pull(dense), *b = gst_harness_pull(change);
      fail_unless(a != nullptr && b != nullptr);
      std::vector<float> x = first_tensor(a), y = first_tensor(b);
      fail_unless_equals_int(x.size(), y.size());
      float diff = 0;
      for (size_t i = 0; i < x.size(); ++i) diff = std::max(diff, std::fabs(x[i] - y[i]));
      fail_unless(diff < 1e-4f, "gate %s frame %d differs from dense by %g", gate.c_str(), t, diff);
      const GstSparseinferStreamMeta *sm = gst_buffer_get_sparseinfer_stream_meta(b);
      fail_unless(sm != nullptr && sm->stats != nullptr && sm->mask != nullptr);
      if (t > 0) {
        work = std::min(work, sm->stats->mac_fraction);
        // A structured gate's first-layer mask is made of whole k x k cells.
        fail_unless_equals_int(sm->mask_width, kWidth);
        for (size_t y0 = 0; y0 < size_t(kHeight); y0 += k)
          for (size_t x0 = 0; x0 < size_t(kWidth); x0 += k)
            for (size_t y = y0; y < y0 + k; ++y)
              for (size_t x = x0; x < x0 + k; ++x)
                fail_unless(sm->mask[y * kWidth + x] == sm->mask[y0 * kWidth + x0],
                            "gate %s frame %d: cell (%zu, %zu) is split", gate.c_str(), t, y0, x0);
      }
      gst_buffer_unref(a);
      gst_buffer_unref(b);
    }
    // 8x8 cells on a 64x32 frame reach far beyond a 7x7 square.
    fail_unless(work < (k == 8 ? 0.95 : 0.9), "gate %s skipped no work (%f)", gate.c_str(), work);
    gst_harness_teardown(dense);
    gst_harness_teardown(change);
  }
}
GST_END_TEST;

GST_START_TEST(test_gate_in_a_pipeline) {
  const std::string line = "videotestsrc num-buffers=6 pattern=ball ! videoconvert ! video/x-raw,format=RGB,width=" +
                           std::to_string(kWidth) + ",height=" + std::to_string(kHeight) +
                           " ! cbinferconv model=" + kSegnet + " gate=output-norm-8x8 threshold=0.5 ! fakesink";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(line.c_str(), &error);
  fail_unless(pipeline != nullptr && error == nullptr, "%s", error ? error->message : "");
  run_to_eos(pipeline, 60 * GST_SECOND);
  gst_object_unref(pipeline);
  // A value that is not a gate is refused by the parser, naming it.
  pipeline =
      gst_parse_launch(("videotestsrc ! cbinferconv model=" + kSegnet + " gate=l2-norm ! fakesink").c_str(), &error);
  fail_unless(error != nullptr);
  fail_unless(std::string(error->message).find("l2-norm") != std::string::npos, "%s", error->message);
  g_clear_error(&error);
  if (pipeline) gst_object_unref(pipeline);
}
GST_END_TEST;

static Suite *gate_property_suite(void) {
  Suite *s = suite_create("gate_property");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 180);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_gate_values_are_the_core_kinds);
  tcase_add_test(tc, test_every_gate_equals_dense_at_threshold_zero);
  tcase_add_test(tc, test_gate_in_a_pipeline);
  return s;
}

GST_CHECK_MAIN(gate_property);
