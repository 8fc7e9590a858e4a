// The meta library on its own: API tags, COPY and video SCALE transforms,
// and a videoscale in a pipeline carrying the metas over.
#include <cstring>
#include <string>
#include <vector>

#include "sparseinfer-meta.h"

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

namespace {

constexpr guint kMaskW = 8, kMaskH = 4;

GstBuffer *buffer_with_metas(GstSparseinferFrameStats **stats_out) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, 64 * 32 * 3, nullptr);
  GstSparseinferTensorMeta *tm =
      gst_buffer_add_sparseinfer_tensor_meta(buf, "net.onnx", GST_SPARSEINFER_TASK_SEGMENTATION);
  std::vector<float> scores(2 * 4 * 8);
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = float(i) * 0.5f;
  const gint64 dims[] = {1, 2, 4, 8};
  fail_unless(gst_sparseinfer_tensor_meta_add_tensor(tm, "scores", GST_SPARSEINFER_DTYPE_FLOAT32, 4, dims,
                                                     scores.data(), scores.size() * sizeof(float)));
  // A size that does not match the dims is refused.
  ASSERT_CRITICAL(
      gst_sparseinfer_tensor_meta_add_tensor(tm, "bad", GST_SPARSEINFER_DTYPE_FLOAT32, 4, dims, scores.data(), 4));
  fail_unless_equals_int(tm->n_tensors, 1);
  fail_unless(tm->labels == nullptr);
  const gchar *labels[] = {"road", "car", nullptr};
  gst_sparseinfer_tensor_meta_set_labels(tm, labels);

  GstSparseinferFrameStats *stats = gst_sparseinfer_frame_stats_new("stream-a", 2);
  stats->frame_index = 5;
  stats->inferred = TRUE;
  stats->mac_fraction = 0.25;
  stats->layer_changed_fractions[1] = 0.5;
  guint8 mask[kMaskW * kMaskH] = {};
  mask[0] = mask[kMaskW + 1] = 1;  // (0,0) and (1,1)
  gst_buffer_add_sparseinfer_stream_meta(buf, stats, mask, kMaskW, kMaskH);
  *stats_out = stats;
  return buf;
}

}  // namespace

GST_START_TEST(test_tags) {
  const GQuark video = g_quark_from_string(GST_META_TAG_VIDEO_STR);
  const GQuark size = g_quark_from_string(GST_META_TAG_VIDEO_SIZE_STR);
  for (GType api : {GST_SPARSEINFER_TENSOR_META_API_TYPE, GST_SPARSEINFER_STREAM_META_API_TYPE}) {
    fail_unless(gst_meta_api_type_has_tag(api, video));
    fail_unless(gst_meta_api_type_has_tag(api, size));
    fail_if(gst_meta_api_type_has_tag(api, g_quark_from_string(GST_META_TAG_VIDEO_COLORSPACE_STR)));
  }
}
GST_END_TEST;

// A class map (uint8) and the background class travel with a copy.
GST_START_TEST(test_class_map_copy) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, 16, nullptr);
  GstSparseinferTensorMeta *tm =
      gst_buffer_add_sparseinfer_tensor_meta(buf, "seg.onnx", GST_SPARSEINFER_TASK_SEGMENTATION);
  fail_unless_equals_int(tm->background_class, -1);
  const guint8 classes[6] = {0, 1, 1, 0, 2, 0};
  const gint64 dims[] = {1, 2, 3};
  fail_unless(gst_sparseinfer_tensor_meta_add_tensor(tm, "class_map", GST_SPARSEINFER_DTYPE_UINT8, 3, dims, classes,
                                                     sizeof classes));
  ASSERT_CRITICAL(
      gst_sparseinfer_tensor_meta_add_tensor(tm, "short", GST_SPARSEINFER_DTYPE_UINT8, 3, dims, classes, 5));
  tm->background_class = 0;
  GstBuffer *copy = gst_buffer_copy(buf);
  const GstSparseinferTensorMeta *b = gst_buffer_get_sparseinfer_tensor_meta(copy);
  fail_unless(b != nullptr && b != tm);
  fail_unless_equals_int(b->background_class, 0);
  const GstSparseinferTensor *t = gst_sparseinfer_tensor_meta_get_tensor(b, "class_map");
  fail_unless(t != nullptr && gst_sparseinfer_tensor_get_n_elements(t) == 6);
  fail_unless(gst_sparseinfer_tensor_get_floats(t) == nullptr);
  fail_unless(std::memcmp(gst_sparseinfer_tensor_get_uint8s(t), classes, sizeof classes) == 0);
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_copy) {
  GstSparseinferFrameStats *stats;
  GstBuffer *buf = buffer_with_metas(&stats);
  GstBuffer *copy = gst_buffer_copy(buf);
  const GstSparseinferTensorMeta *a = gst_buffer_get_sparseinfer_tensor_meta(buf);
  const GstSparseinferTensorMeta *b = gst_buffer_get_sparseinfer_tensor_meta(copy);
  fail_unless(b != nullptr && b != a);
  fail_unless_equals_string(b->model_name, "net.onnx");
  fail_unless_equals_int(b->task, GST_SPARSEINFER_TASK_SEGMENTATION);
  fail_unless_equals_int(b->n_tensors, 1);
  fail_unless(g_bytes_equal(a->tensors[0].data, b->tensors[0].data));
  fail_unless_equals_int(b->tensors[0].dims[3], 8);
  const GstSparseinferTensor *t = gst_sparseinfer_tensor_meta_get_tensor(b, "scores");
  fail_unless(t != nullptr && gst_sparseinfer_tensor_get_floats(t)[3] == 1.5f);
  fail_unless(gst_sparseinfer_tensor_meta_get_tensor(b, "nothing") == nullptr);
  fail_unless(b->labels != nullptr && b->labels != a->labels);  // a copy of its own
  fail_unless_equals_string(gst_sparseinfer_tensor_meta_get_label(b, 1), "car");
  fail_unless(gst_sparseinfer_tensor_meta_get_label(b, 2) == nullptr);
  fail_unless(gst_sparseinfer_tensor_meta_get_label(b, -1) == nullptr);

  const GstSparseinferStreamMeta *sa = gst_buffer_get_sparseinfer_stream_meta(buf);
  const GstSparseinferStreamMeta *sb = gst_buffer_get_sparseinfer_stream_meta(copy);
  fail_unless(sb != nullptr && sb != sa);
  fail_unless(sb->stats == stats);  // shared, refcounted
  fail_unless_equals_int(GST_MINI_OBJECT_REFCOUNT_VALUE(stats), 3);
  fail_unless_equals_string(sb->stream_id, "stream-a");
  fail_unless_equals_int(sb->frame_index, 5);
  fail_unless_equals_int(sb->mask_width, kMaskW);
  fail_unless(std::memcmp(sa->mask, sb->mask, kMaskW * kMaskH) == 0);
  fail_unless(gst_sparseinfer_stream_meta_mask_fraction(sb) == 2.0 / (kMaskW * kMaskH));

  GstStructure *st = gst_sparseinfer_frame_stats_to_structure(stats);
  gdouble mac;
  fail_unless(gst_structure_get_double(st, "mac-fraction", &mac) && mac == 0.25);
  fail_unless_equals_string(gst_structure_get_string(st, "stream-id"), "stream-a");
  gst_structure_free(st);

  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
  fail_unless_equals_int(GST_MINI_OBJECT_REFCOUNT_VALUE(stats), 1);
  gst_sparseinfer_frame_stats_unref(stats);
}
GST_END_TEST;

GST_START_TEST(test_scale_transform) {
  GstSparseinferFrameStats *stats;
  GstBuffer *buf = buffer_with_metas(&stats);
  GstBuffer *dest = gst_buffer_new();
  GstVideoInfo in, out;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_RGB, 64, 32);
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_RGB, 128, 64);
  GstVideoMetaTransform trans = {&in, &out};
  const GQuark scale = gst_video_meta_transform_scale_get_quark();

  GstMeta *meta = reinterpret_cast<GstMeta *>(gst_buffer_get_sparseinfer_stream_meta(buf));
  fail_unless(meta->info->transform_func(dest, meta, buf, scale, &trans));
  meta = reinterpret_cast<GstMeta *>(gst_buffer_get_sparseinfer_tensor_meta(buf));
  fail_unless(meta->info->transform_func(dest, meta, buf, scale, &trans));

  const GstSparseinferStreamMeta *sm = gst_buffer_get_sparseinfer_stream_meta(dest);
  fail_unless(sm != nullptr);
  fail_unless_equals_int(sm->mask_width, 2 * kMaskW);
  fail_unless_equals_int(sm->mask_height, 2 * kMaskH);
  // Each mask cell became 2x2 cells.
  const guint w = sm->mask_width;
  fail_unless(sm->mask[0] && sm->mask[1] && sm->mask[w] && sm->mask[w + 1]);
  fail_unless(sm->mask[2 * w + 2] && sm->mask[3 * w + 3]);
  fail_if(sm->mask[2] || sm->mask[4 * w]);
  fail_unless(gst_sparseinfer_stream_meta_mask_fraction(sm) == 2.0 / (kMaskW * kMaskH));
  fail_unless(sm->stats == stats);

  // Tensors describe the whole frame: unchanged by scaling.
  const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(dest);
  fail_unless(tm != nullptr && tm->n_tensors == 1 && tm->tensors[0].dims[3] == 8);

  // A copy of a region is not the whole frame any more: the metas stay behind.
  GstBuffer *part = gst_buffer_copy_region(buf, GST_BUFFER_COPY_METADATA, 0, 10);
  fail_unless(gst_buffer_get_sparseinfer_stream_meta(part) == nullptr);
  gst_buffer_unref(part);

  gst_buffer_unref(dest);
  gst_buffer_unref(buf);
  gst_sparseinfer_frame_stats_unref(stats);
}
GST_END_TEST;

// cbinferconv then videoscale to twice the size: both metas arrive, the mask scaled.
GST_START_TEST(test_videoscale_pipeline) {
  const std::string desc =
      "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,format=RGB,width=64,height=32 ! "
      "cbinferconv model=" SPARSEINFER_MODELS_DIR
      "/segnet_small.onnx ! videoscale ! video/x-raw,width=128,height=64 ! "
      "appsink name=sink sync=false";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  fail_unless(pipeline != nullptr, "%s", err ? err->message : "");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  int frames = 0;
  GstSample *sample;
  g_signal_emit_by_name(sink, "pull-sample", &sample);
  while (sample) {
    GstBuffer *buf = gst_sample_get_buffer(sample);
    const GstSparseinferStreamMeta *sm = gst_buffer_get_sparseinfer_stream_meta(buf);
    const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(buf);
    fail_unless(sm != nullptr && tm != nullptr, "metas lost in videoscale");
    fail_unless_equals_int(sm->mask_width, 128);
    fail_unless_equals_int(sm->mask_height, 64);
    fail_unless_equals_int(tm->tensors[0].dims[3], 64);
    ++frames;
    gst_sample_unref(sample);
    g_signal_emit_by_name(sink, "pull-sample", &sample);
  }
  fail_unless_equals_int(frames, 3);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}
GST_END_TEST;

static Suite *sparseinfer_meta_suite(void) {
  Suite *s = suite_create("sparseinfer_meta");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_tags);
  tcase_add_test(tc, test_copy);
  tcase_add_test(tc, test_class_map_copy);
  tcase_add_test(tc, test_scale_transform);
  tcase_add_test(tc, test_videoscale_pipeline);
  return s;
}

GST_CHECK_MAIN(sparseinfer_meta);
