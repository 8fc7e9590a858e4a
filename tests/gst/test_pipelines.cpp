// Whole pipelines through gst_parse_launch: a test pattern, the vtest.avi
// surveillance clip, and a resolution change mid-stream through concat.
#include <string>
#include <vector>

#include "run_to_eos.h"
#include "sparseinfer-meta.h"

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <gst/check/gstcheck.h>

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;

struct Seen {
  guint width = 0;  // mask width (the network input follows the frame here)
  gboolean dense = FALSE;
  gboolean inferred = FALSE;
  double mac_fraction = 0;
  gboolean has_tensor = FALSE;
};

GstPadProbeReturn collect(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *seen = static_cast<std::vector<Seen> *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  Seen s;
  if (const GstSparseinferStreamMeta *m = gst_buffer_get_sparseinfer_stream_meta(buf)) {
    s.width = m->mask_width;
    s.dense = m->stats->dense_frame;
    s.inferred = m->stats->inferred;
    s.mac_fraction = m->stats->mac_fraction;
  }
  s.has_tensor = gst_buffer_get_sparseinfer_tensor_meta(buf) != nullptr;
  seen->push_back(s);
  return GST_PAD_PROBE_OK;
}

// Runs the pipeline to EOS with a probe on the src pad of the element named
// "infer"; fails on an error message.
std::vector<Seen> run(const std::string &desc) {
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  fail_unless(pipeline != nullptr && err == nullptr, "%s", err ? err->message : "");
  GstElement *infer = gst_bin_get_by_name(GST_BIN(pipeline), "infer");
  GstPad *src = gst_element_get_static_pad(infer, "src");
  std::vector<Seen> seen;
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, collect, &seen, nullptr);
  gst_object_unref(src);
  gst_object_unref(infer);

  run_to_eos(pipeline, 120 * GST_SECOND);
  gst_object_unref(pipeline);
  return seen;
}

}  // namespace

GST_START_TEST(test_videotestsrc_overlay) {
  std::vector<Seen> seen = run(
      "videotestsrc num-buffers=12 pattern=ball ! video/x-raw,width=160,height=96 ! videoconvert ! "
      "cbinferconv name=infer model=" +
      kModels +
      "/segnet_small.onnx threshold=0.05 ! sparseinferoverlay change-mask=true ! videoconvert ! fakesink sync=false");
  fail_unless_equals_int(seen.size(), 12);
  fail_unless(seen[0].dense);
  double later = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    fail_unless(seen[i].has_tensor && seen[i].inferred);
    fail_unless_equals_int(seen[i].width, 160);
    if (i > 0) {
      fail_if(seen[i].dense);
      later += seen[i].mac_fraction;
    }
  }
  // A ball on a still background: most of the network is skipped.
  fail_unless(later / 11 < 0.9, "mean MAC fraction %f", later / 11);
}
GST_END_TEST;

GST_START_TEST(test_vtest_avi) {
  fail_unless(g_file_test(VTEST_AVI, G_FILE_TEST_EXISTS), "%s missing (Debian package opencv-doc)", VTEST_AVI);
  // One frame past the 24 that count: the frame just before `identity
  // eos-after` ends a stream does not always arrive (1 run in 40 lost it).
  std::vector<Seen> seen = run("filesrc location=" VTEST_AVI
                               " ! decodebin ! videoconvert ! videoscale ! "
                               "video/x-raw,format=BGRx,width=192,height=144 ! identity eos-after=25 ! "
                               "cbinferconv name=infer model=" +
                               kModels + "/detnet_small.onnx threshold=0.1 ! sparseinferoverlay ! fakesink sync=false");
  fail_unless(seen.size() >= 24, "%zu frames of 24", seen.size());
  seen.resize(24);
  fail_unless(seen[0].dense);
  double later = 0;
  for (size_t i = 1; i < seen.size(); ++i) later += seen[i].mac_fraction;
  // A static camera with a few walking people.
  fail_unless(later / 23 < 0.8, "mean MAC fraction %f", later / 23);
}
GST_END_TEST;

GST_START_TEST(test_resolution_change_through_concat) {
  std::vector<Seen> seen =
      run("concat name=c ! videoconvert ! video/x-raw,format=RGB ! cbinferconv name=infer model=" + kModels +
          "/segnet_small.onnx ! fakesink sync=false "
          "videotestsrc num-buffers=4 pattern=ball ! video/x-raw,width=64,height=32 ! c. "
          "videotestsrc num-buffers=4 pattern=ball ! video/x-raw,width=128,height=48 ! c.");
  fail_unless_equals_int(seen.size(), 8);
  for (size_t i = 0; i < seen.size(); ++i) {
    fail_unless_equals_int(seen[i].width, i < 4 ? 64 : 128);
    fail_unless_equals_int(seen[i].dense, i == 0 || i == 4);
  }
}
GST_END_TEST;

static Suite *pipelines_suite(void) {
  Suite *s = suite_create("pipelines");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 180);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_videotestsrc_overlay);
  tcase_add_test(tc, test_vtest_avi);
  tcase_add_test(tc, test_resolution_change_through_concat);
  return s;
}

GST_CHECK_MAIN(pipelines);
