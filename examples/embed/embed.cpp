// Embeds a sparseinfer pipeline in an application and reads the results
// from buffer metas in a pad probe, linking only the meta library
// (pkg-config sparseinfer-meta-1.0) and GStreamer.
//
//   sparseinfer-embed MODEL [VIDEO]    (GST_PLUGIN_PATH must reach the plugin)
//
// Without VIDEO it runs on videotestsrc. Prints one line per frame and the
// element's totals at the end.
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include <cstdio>
#include <string>

#include "sparseinfer-meta.h"

namespace {

constexpr int kFrames = 60;

// The strongest class of a classifier, or of the first pixel of a segmentation.
void print_tensor_summary(const GstSparseinferTensorMeta *tm) {
  const GstSparseinferTensor &t = tm->tensors[0];
  const gfloat *v = gst_sparseinfer_tensor_get_floats(&t);
  if (!v) return;
  if (tm->task == GST_SPARSEINFER_TASK_CLASSIFICATION) {
    const gint64 n = gst_sparseinfer_tensor_get_n_elements(&t);
    gint64 best = 0;
    for (gint64 i = 1; i < n; ++i)
      if (v[i] > v[best]) best = i;
    std::printf(" top class %" G_GINT64_FORMAT " (logit %.3f)", best, double(v[best]));
  } else {
    std::printf(" %s [", t.name);
    for (guint d = 0; d < t.n_dims; ++d) std::printf("%s%" G_GINT64_FORMAT, d ? "," : "", t.dims[d]);
    std::printf("]");
  }
}

GstPadProbeReturn on_buffer(GstPad *, GstPadProbeInfo *info, gpointer) {
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  const GstSparseinferStreamMeta *sm = gst_buffer_get_sparseinfer_stream_meta(buf);
  const GstSparseinferTensorMeta *tm = gst_buffer_get_sparseinfer_tensor_meta(buf);
  if (!sm || !tm) {
    std::printf("frame without results\n");
    return GST_PAD_PROBE_OK;
  }
  const GstSparseinferFrameStats *st = sm->stats;
  std::printf("frame %3" G_GUINT64_FORMAT " %-6s MACs %5.1f%% changed %5.1f%% %6.2f ms model %s task %s",
              sm->frame_index, st->inferred ? (st->dense_frame ? "dense" : "sparse") : "held", 100.0 * st->mac_fraction,
              100.0 * st->changed_fraction, st->process_ms, tm->model_name, gst_sparseinfer_task_to_string(tm->task));
  if (tm->n_tensors > 0) print_tensor_summary(tm);
  guint boxes = 0;
  gpointer state = nullptr;
  while (gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) ++boxes;
  if (tm->task == GST_SPARSEINFER_TASK_DETECTION) std::printf(" %u boxes", boxes);
  std::printf("\n");
  return GST_PAD_PROBE_OK;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [VIDEO]\n", argv[0]);
    return 2;
  }
  gchar *model = g_strescape(argv[1], nullptr);
  std::string source;
  if (argc > 2) {
    gchar *video = g_strescape(argv[2], nullptr);
    source = std::string("filesrc location=\"") + video + "\" ! decodebin ! videoconvert ! videoscale ! ";
    g_free(video);
  } else {
    source = "videotestsrc pattern=ball ! videoconvert ! ";
  }
  const std::string desc =
      source + "video/x-raw,format=RGB,width=256,height=192 ! identity eos-after=" + std::to_string(kFrames) +
      " ! cbinferconv name=infer model=\"" + model + "\" threshold=0.1 ! fakesink sync=false";
  g_free(model);

  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", err->message);
    g_error_free(err);
    return 1;
  }
  GstElement *infer = gst_bin_get_by_name(GST_BIN(pipeline), "infer");
  GstPad *src = gst_element_get_static_pad(infer, "src");
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, nullptr, nullptr);
  gst_object_unref(src);

  int status = 0;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) status = 1;
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    std::fprintf(stderr, "error: %s\n", e->message);
    g_error_free(e);
    status = 1;
  } else {
    GstStructure *stats = nullptr;
    g_object_get(infer, "stats", &stats, nullptr);
    gchar *text = gst_structure_to_string(stats);
    std::printf("totals: %s\n", text);
    g_free(text);
    gst_structure_free(stats);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(infer);
  gst_object_unref(pipeline);
  return status;
}
