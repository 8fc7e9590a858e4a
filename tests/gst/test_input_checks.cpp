// cbinferconv refuses settings that would make every frame NaN, and reports a
// frame size the network cannot take once, with the properties that fix it
// (issue 14, point 5); its detections never carry a box without area.
#include <string>
#include <vector>

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <gst/check/gstcheck.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;
const std::string kSegnet = kModels + "/segnet_small.onnx";
const std::string kDetnet = kModels + "/detnet_small.onnx";

// Brings cbinferconv to PAUSED with `property`=`value` (as gst-launch parses
// it); the state change must fail. Returns the one ERROR's text.
std::string start_error(const std::string &model, const char *property, const char *value) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  g_object_set(e, "model", model.c_str(), nullptr);
  gst_util_set_object_arg(G_OBJECT(e), property, value);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  fail_unless_equals_int(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "%s=%s: no error message", property, value);
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  fail_unless(err->domain == GST_LIBRARY_ERROR && err->code == GST_LIBRARY_ERROR_SETTINGS, "%s", err->message);
  std::string text = err->message;
  g_error_free(err);
  gst_message_unref(msg);
  GstMessage *second = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(second == nullptr, "%s=%s: a second error", property, value);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_element_set_bus(e, nullptr);
  gst_object_unref(bus);
  gst_object_unref(e);
  return text;
}

void expect_names(const std::string &text, const std::string &what) {
  fail_unless(text.find(what) != std::string::npos, "'%s' not in: %s", what.c_str(), text.c_str());
}

// Runs `launch` to EOS or error; returns the ERROR messages the element named "c" posted.
std::vector<std::string> run_pipeline(const std::string &launch) {
  GError *perr = nullptr;
  GstElement *pipeline = gst_parse_launch(launch.c_str(), &perr);
  fail_unless(pipeline != nullptr && perr == nullptr, "%s", perr ? perr->message : "");
  GstElement *conv = gst_bin_get_by_name(GST_BIN(pipeline), "c");
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<std::string> errors;
  // After the first message that ends the run, wait a little longer for repeats.
  GstClockTime wait = 60 * GST_SECOND;
  while (GstMessage *msg = gst_bus_timed_pop_filtered(bus, wait, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS))) {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR && GST_MESSAGE_SRC(msg) == GST_OBJECT(conv)) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      errors.push_back(err->message);
      g_error_free(err);
    }
    gst_message_unref(msg);
    wait = GST_SECOND;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(conv);
  gst_object_unref(pipeline);
  return errors;
}

}  // namespace

GST_START_TEST(test_refuses_zero_std) {
  expect_names(start_error(kSegnet, "std", "<0.0,0.0,0.0>"), "'std'");
  expect_names(start_error(kSegnet, "std", "<0.2,0.0,0.2>"), "'std'");
}
GST_END_TEST;

GST_START_TEST(test_refuses_wrong_value_counts) {
  std::string text = start_error(kSegnet, "mean", "<0.5,0.5>");
  expect_names(text, "'mean'");
  expect_names(text, "3 values");
  expect_names(start_error(kSegnet, "std", "<0.2,0.2,0.2,0.2>"), "'std'");
  expect_names(start_error(kSegnet, "mean", "<0.5>"), "'mean'");
}
GST_END_TEST;

GST_START_TEST(test_refuses_detection_on_other_outputs) {
  std::string text = start_error(kSegnet, "task", "detection");
  expect_names(text, "'task'");
  expect_names(text, "heatmap");
}
GST_END_TEST;

GST_START_TEST(test_accepts_valid_settings) {
  GstElement *e = gst_element_factory_make("cbinferconv", nullptr);
  g_object_set(e, "model", kDetnet.c_str(), nullptr);
  gst_util_set_object_arg(G_OBJECT(e), "task", "detection");
  gst_util_set_object_arg(G_OBJECT(e), "mean", "<0.5,0.5,0.5>");
  gst_util_set_object_arg(G_OBJECT(e), "std", "<0.25,0.25,0.25>");
  fail_unless(gst_element_set_state(e, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
}
GST_END_TEST;

// segnet_small at 321x241: its skip Concats get 1/2-scale maps of different
// sizes. One ERROR, that names the properties that resize the frames.
GST_START_TEST(test_unusable_frame_size_one_error_with_hint) {
  std::vector<std::string> errors = run_pipeline(
      "videotestsrc num-buffers=5 ! video/x-raw,format=RGB,width=321,height=241 ! cbinferconv name=c model=" + kSegnet +
      " ! fakesink");
  fail_unless_equals_int(errors.size(), 1);
  expect_names(errors[0], "321x241");
  expect_names(errors[0], "input-width");
  expect_names(errors[0], "input-height");

  // The size suggested runs.
  const size_t at = errors[0].find("input-width=");
  fail_unless(at != std::string::npos, "%s", errors[0].c_str());
  const std::string hint = errors[0].substr(at, errors[0].find(')', at) - at);
  errors = run_pipeline(
      "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=321,height=241 ! cbinferconv name=c model=" + kSegnet +
      " " + hint + " ! fakesink");
  fail_unless_equals_int(errors.size(), 0);
}
GST_END_TEST;

// With every cell a candidate (score threshold 0, no NMS), the untrained
// detector predicts boxes with negative or zero extent: none may reach a ROI meta.
GST_START_TEST(test_no_degenerate_rois) {
  GError *perr = nullptr;
  GstElement *pipeline = gst_parse_launch(
      ("videotestsrc num-buffers=10 pattern=ball ! video/x-raw,format=RGB,width=128,height=64 ! cbinferconv model=" +
       kDetnet + " score-threshold=0 nms-threshold=1 max-detections=10000 ! appsink name=out sync=false")
          .c_str(),
      &perr);
  fail_unless(pipeline != nullptr, "%s", perr ? perr->message : "");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  guint rois = 0;
  for (int i = 0; i < 10; ++i) {
    GstSample *sample = nullptr;
    g_signal_emit_by_name(sink, "pull-sample", &sample);
    fail_unless(sample != nullptr);
    GstBuffer *buf = gst_sample_get_buffer(sample);
    gpointer state = nullptr;
    while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
      const auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
      fail_unless(roi->w > 0 && roi->h > 0, "degenerate ROI %ux%u at %u,%u", roi->w, roi->h, roi->x, roi->y);
      ++rois;
    }
    gst_sample_unref(sample);
  }
  fail_unless(rois > 0, "no detections at all");
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}
GST_END_TEST;

// No made-up domain: the build's package-origin (GStreamer's "Unknown package
// origin" by default, the project having no public site) or a real URL.
GST_START_TEST(test_plugin_origin) {
  GstPlugin *plugin = gst_registry_find_plugin(gst_registry_get(), "sparseinfer");
  fail_unless(plugin != nullptr);
  const std::string origin = gst_plugin_get_origin(plugin);
  fail_if(origin.empty());
  fail_unless(origin.find(".invalid") == std::string::npos, "placeholder origin %s", origin.c_str());
  gst_object_unref(plugin);
}
GST_END_TEST;

static Suite *input_checks_suite(void) {
  Suite *s = suite_create("input_checks");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_refuses_zero_std);
  tcase_add_test(tc, test_refuses_wrong_value_counts);
  tcase_add_test(tc, test_refuses_detection_on_other_outputs);
  tcase_add_test(tc, test_accepts_valid_settings);
  tcase_add_test(tc, test_unusable_frame_size_one_error_with_hint);
  tcase_add_test(tc, test_no_degenerate_rois);
  tcase_add_test(tc, test_plugin_origin);
  return s;
}

GST_CHECK_MAIN(input_checks);
