// soak_pipeline: the soak and drift run of issue 14, point 6, through the real
// element in a real pipeline.
//
// A clip's first `period` frames are decoded once (filesrc ! decodebin !
// videoconvert ! videoscale), then looped into appsrc ! cbinferconv ! appsink
// for `frames` frames. Because the input repeats with that period, frame i sees
// exactly the input of frame i % period, and so does the dense network: the
// dense reference is computed once, for one period, by the same element in
// mode=dense, and every change-mode frame is compared with it. Windows of
// `period` frames anywhere in the run then see identical inputs, so their
// errors against dense compare like with like (CBinfer Fig. 15: no long-term
// drift).
//
// Prints one JSON object per change-mode frame on stdout: the frame, its input
// index, the process's resident set (VmRSS), the element's frame statistics
// (stream meta) and the error of its output tensor against dense. soak.py
// reads these lines, checks them and draws the plot.
//
// Pushes one frame and pulls its result before the next (lockstep), so no
// frame is dropped or skipped by QoS and the element sees every one in order.
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sparseinfer-meta.h"

namespace {

struct Options {
  std::string clip;
  std::string model;
  std::string thresholds_file;
  int width = 192;
  int height = 144;
  int period = 100;
  long frames = 10000;
  int threads = 1;
  double threshold = -1;  // < 0: the element's default
};

// One network output of one frame: the first float tensor (the class scores)
// and the decoded class map when the model has a description.
struct Output {
  std::vector<float> scores;
  std::vector<guint8> class_map;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "soak_pipeline: %s\n", what.c_str());
  std::exit(2);
}

long read_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  std::fclose(f);
  return kib;
}

// Fails with the text of an ERROR message waiting on the bus, if any.
void check_bus(GstElement* pipeline, const char* stage) {
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  gst_object_unref(bus);
  if (!msg) return;
  GError* e = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &e, &debug);
  die(std::string(stage) + ": " + e->message + (debug ? std::string(" (") + debug + ")" : ""));
}

GstSample* pull(GstElement* pipeline, GstElement* sink, const char* stage) {
  GstSample* sample = nullptr;
  // 120 s: far above one frame at these sizes even on a loaded machine.
  g_signal_emit_by_name(sink, "try-pull-sample", GstClockTime(120 * GST_SECOND), &sample);
  check_bus(pipeline, stage);
  return sample;
}

// Decodes frames [0, period) of the clip to RGB at width x height.
std::vector<GstBuffer*> decode_period(const Options& o, GstCaps** caps) {
  gchar* location = g_strescape(o.clip.c_str(), nullptr);
  std::string desc =
      std::string("filesrc location=\"") + location +
      "\" ! decodebin ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=" + std::to_string(o.width) +
      ",height=" + std::to_string(o.height) + ",pixel-aspect-ratio=1/1 ! appsink name=sink sync=false max-buffers=4";
  g_free(location);
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!pipeline) die("decoding " + o.clip + ": " + (err ? err->message : "no pipeline"));
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    check_bus(pipeline, ("decoding " + o.clip).c_str());
    die("decoding " + o.clip + ": the pipeline does not start");
  }
  std::vector<GstBuffer*> frames;
  while (int(frames.size()) < o.period) {
    GstSample* s = pull(pipeline, sink, ("decoding " + o.clip).c_str());
    if (!s) break;
    if (!*caps) *caps = gst_caps_copy(gst_sample_get_caps(s));
    // A copy of our own: the decoder's buffer pool goes away with its pipeline.
    GstBuffer* b = gst_buffer_copy_deep(gst_sample_get_buffer(s));
    frames.push_back(b);
    gst_sample_unref(s);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (int(frames.size()) < o.period)
    die(o.clip + " has " + std::to_string(frames.size()) + " frames, fewer than the period " +
        std::to_string(o.period));
  return frames;
}

Output read_output(GstBuffer* b, long frame) {
  const GstSparseinferTensorMeta* meta = gst_buffer_get_sparseinfer_tensor_meta(b);
  if (!meta) die("frame " + std::to_string(frame) + " has no tensor meta");
  Output out;
  for (guint i = 0; i < meta->n_tensors; ++i) {
    const GstSparseinferTensor& t = meta->tensors[i];
    gsize size = 0;
    const void* data = g_bytes_get_data(t.data, &size);
    if (t.dtype == GST_SPARSEINFER_DTYPE_FLOAT32 && out.scores.empty()) {
      const float* f = static_cast<const float*>(data);
      out.scores.assign(f, f + size / sizeof(float));
    } else if (t.dtype == GST_SPARSEINFER_DTYPE_UINT8 && std::strcmp(t.name, "class_map") == 0) {
      const guint8* u = static_cast<const guint8*>(data);
      out.class_map.assign(u, u + size);
    }
  }
  if (out.scores.empty()) die("frame " + std::to_string(frame) + " has no float output tensor");
  return out;
}

// appsrc ! cbinferconv ! appsink, the element configured from the options.
GstElement* make_pipeline(const Options& o, bool dense, GstCaps* caps, GstElement** src, GstElement** sink) {
  GstElement* pipeline = gst_pipeline_new(dense ? "dense" : "change");
  *src = gst_element_factory_make("appsrc", "src");
  GstElement* infer = gst_element_factory_make("cbinferconv", "infer");
  *sink = gst_element_factory_make("appsink", "sink");
  if (!*src || !infer || !*sink) die("appsrc, cbinferconv or appsink is missing (GST_PLUGIN_PATH?)");
  g_object_set(*src, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-buffers", guint64(2), nullptr);
  g_object_set(infer, "model", o.model.c_str(), "threads", o.threads, nullptr);
  gst_util_set_object_arg(G_OBJECT(infer), "mode", dense ? "dense" : "change");
  if (!dense && o.threshold >= 0) g_object_set(infer, "threshold", float(o.threshold), nullptr);
  if (!dense && !o.thresholds_file.empty()) g_object_set(infer, "thresholds-file", o.thresholds_file.c_str(), nullptr);
  g_object_set(*sink, "sync", FALSE, "max-buffers", 2u, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), *src, infer, *sink, nullptr);
  if (!gst_element_link_many(*src, infer, *sink, nullptr)) die("cannot link appsrc ! cbinferconv ! appsink");
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    check_bus(pipeline, dense ? "dense pipeline" : "change pipeline");
    die(std::string(dense ? "dense" : "change") + " pipeline does not start");
  }
  return pipeline;
}

void push(GstElement* src, GstBuffer* frame, long index) {
  GstBuffer* b = gst_buffer_copy(frame);  // shares the pixels, own timestamps
  // 30 frames per second, as the clip.
  GST_BUFFER_PTS(b) = gst_util_uint64_scale(guint64(index), GST_SECOND, 30);
  GST_BUFFER_DURATION(b) = gst_util_uint64_scale(1, GST_SECOND, 30);
  GstFlowReturn ret = GST_FLOW_OK;
  g_signal_emit_by_name(src, "push-buffer", b, &ret);
  gst_buffer_unref(b);
  if (ret != GST_FLOW_OK) die("appsrc refused frame " + std::to_string(index) + ": " + gst_flow_get_name(ret));
}

void finish(GstElement* pipeline, GstElement* src) {
  GstFlowReturn ret = GST_FLOW_OK;
  g_signal_emit_by_name(src, "end-of-stream", &ret);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg =
      gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  gst_object_unref(bus);
  if (!msg) die("no EOS at the end");
  bool error = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
  gst_message_unref(msg);
  if (error) die("ERROR at the end of the stream");
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

std::vector<Output> dense_reference(const Options& o, const std::vector<GstBuffer*>& period, GstCaps* caps) {
  GstElement *src = nullptr, *sink = nullptr;
  GstElement* pipeline = make_pipeline(o, true, caps, &src, &sink);
  std::vector<Output> ref;
  for (size_t i = 0; i < period.size(); ++i) {
    push(src, period[i], long(i));
    GstSample* s = pull(pipeline, sink, "dense pipeline");
    if (!s) die("dense pipeline: no output for frame " + std::to_string(i));
    ref.push_back(read_output(gst_sample_get_buffer(s), long(i)));
    gst_sample_unref(s);
  }
  finish(pipeline, src);
  return ref;
}

void run_change(const Options& o, const std::vector<GstBuffer*>& period, GstCaps* caps,
                const std::vector<Output>& ref) {
  GstElement *src = nullptr, *sink = nullptr;
  GstElement* pipeline = make_pipeline(o, false, caps, &src, &sink);
  for (long i = 0; i < o.frames; ++i) {
    const size_t k = size_t(i % o.period);
    push(src, period[k], i);
    GstSample* s = pull(pipeline, sink, "change pipeline");
    if (!s) die("change pipeline: no output for frame " + std::to_string(i));
    GstBuffer* b = gst_sample_get_buffer(s);
    const Output out = read_output(b, i);
    const Output& d = ref[k];
    if (out.scores.size() != d.scores.size()) die("frame " + std::to_string(i) + ": output size differs from dense");
    double se = 0, max_abs = 0;
    for (size_t j = 0; j < out.scores.size(); ++j) {
      const double e = double(out.scores[j]) - double(d.scores[j]);
      se += e * e;
      max_abs = std::max(max_abs, std::fabs(e));
    }
    double agreement = -1;
    if (!out.class_map.empty() && out.class_map.size() == d.class_map.size()) {
      size_t same = 0;
      for (size_t j = 0; j < out.class_map.size(); ++j) same += out.class_map[j] == d.class_map[j];
      agreement = double(same) / double(out.class_map.size());
    }
    const GstSparseinferStreamMeta* sm = gst_buffer_get_sparseinfer_stream_meta(b);
    if (!sm || !sm->stats) die("frame " + std::to_string(i) + " has no stream meta with statistics");
    const GstSparseinferFrameStats* st = sm->stats;
    std::printf(
        "{\"frame\":%ld,\"input\":%zu,\"rss_kib\":%ld,\"dense_frame\":%s,\"inferred\":%s,\"changed_fraction\":%.6g,"
        "\"mac_fraction\":%.6g,\"ms\":%.4g,\"state_bytes\":%llu,\"mse\":%.9g,\"max_abs\":%.6g,\"agreement\":%.8g}\n",
        i, k, read_rss_kib(), st->dense_frame ? "true" : "false", st->inferred ? "true" : "false", st->changed_fraction,
        st->mac_fraction, st->process_ms, (unsigned long long)st->state_bytes, se / double(out.scores.size()), max_abs,
        agreement);
    std::fflush(stdout);
    gst_sample_unref(s);
  }
  finish(pipeline, src);
}

void usage() {
  std::fprintf(stderr,
               "usage: soak_pipeline --clip FILE --model MODEL.onnx [--thresholds-file F] [--threshold T]\n"
               "                     [--size WxH] [--period N] [--frames N] [--threads N]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--clip") {
      o.clip = v;
    } else if (a == "--model") {
      o.model = v;
    } else if (a == "--thresholds-file") {
      o.thresholds_file = v;
    } else if (a == "--threshold") {
      o.threshold = std::atof(v);
    } else if (a == "--size") {
      if (std::sscanf(v, "%dx%d", &o.width, &o.height) != 2 || o.width <= 0 || o.height <= 0)
        die(std::string("--size: '") + v + "' is not WxH");
    } else if (a == "--period") {
      o.period = std::atoi(v);
    } else if (a == "--frames") {
      o.frames = std::atol(v);
    } else if (a == "--threads") {
      o.threads = std::atoi(v);
    } else {
      usage();
    }
  }
  if (o.clip.empty() || o.model.empty()) usage();
  if (o.period <= 0 || o.frames <= 0) die("--period and --frames must be positive");
  if (!g_file_test(o.clip.c_str(), G_FILE_TEST_IS_REGULAR)) die("--clip: no file " + o.clip);
  if (!g_file_test(o.model.c_str(), G_FILE_TEST_IS_REGULAR)) die("--model: no file " + o.model);
  if (!o.thresholds_file.empty() && !g_file_test(o.thresholds_file.c_str(), G_FILE_TEST_IS_REGULAR))
    die("--thresholds-file: no file " + o.thresholds_file);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  const Options o = parse(argc, argv);
  GstCaps* decoded_caps = nullptr;
  std::vector<GstBuffer*> period = decode_period(o, &decoded_caps);
  // The clip's own rate may be anything; the loop runs at 30/1.
  GstCaps* caps = gst_caps_copy(decoded_caps);
  gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, 30, 1, nullptr);
  const std::vector<Output> ref = dense_reference(o, period, caps);
  run_change(o, period, caps, ref);
  for (GstBuffer* b : period) gst_buffer_unref(b);
  gst_caps_unref(caps);
  gst_caps_unref(decoded_caps);
  return 0;
}
