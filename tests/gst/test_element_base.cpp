// What the inference elements share through GstSparseinferElement: the base
// type, one backend enum, the same raw video pads, and the same stream
// resets and latency answers.
#include <string>
#include <vector>

#include "sparseinfer-meta.h"

// gstcheck.h defines fail(), which the C++ standard headers use as a name: it comes last.
#include <gst/base/gstbasetransform.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

namespace {

const std::string kModels = SPARSEINFER_MODELS_DIR;
const char *const kElements[] = {"cbinferconv", "saliencyscheduler"};

GstCaps *template_caps(const char *factory_name, const char *pad) {
  GstElementFactory *factory = gst_element_factory_find(factory_name);
  fail_unless(factory != nullptr, "%s is not registered", factory_name);
  GstCaps *caps = nullptr;
  for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    auto *t = static_cast<GstStaticPadTemplate *>(l->data);
    if (g_strcmp0(t->name_template, pad) == 0) caps = gst_static_pad_template_get_caps(t);
  }
  gst_object_unref(factory);
  fail_unless(caps != nullptr, "%s has no %s template", factory_name, pad);
  return caps;
}

}  // namespace

GST_START_TEST(test_one_base_one_backend_enum) {
  GType base = g_type_from_name("GstSparseinferElement");
  std::vector<GType> backend_types;
  for (const char *name : kElements) {
    GstElement *e = gst_element_factory_make(name, nullptr);
    fail_unless(e != nullptr, "%s is not registered", name);
    if (!base) base = g_type_from_name("GstSparseinferElement");
    fail_unless(base != 0 && G_TYPE_IS_ABSTRACT(base));
    fail_unless(G_TYPE_CHECK_INSTANCE_TYPE(e, base), "%s does not derive from GstSparseinferElement", name);
    fail_unless(GST_IS_BASE_TRANSFORM(e));
    GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "backend");
    fail_unless(spec != nullptr && G_IS_PARAM_SPEC_ENUM(spec));
    backend_types.push_back(spec->value_type);
    gst_object_unref(e);
  }
  fail_unless(backend_types[0] == backend_types[1], "two backend enums");
  fail_unless_equals_string(g_type_name(backend_types[0]), "GstSparseinferBackend");
  GEnumClass *values = G_ENUM_CLASS(g_type_class_ref(backend_types[0]));
  fail_unless_equals_int(values->n_values, 3);
  fail_unless_equals_int(g_enum_get_value_by_nick(values, "auto")->value, 0);
  fail_unless_equals_int(g_enum_get_value_by_nick(values, "cpu")->value, 1);
  fail_unless_equals_int(g_enum_get_value_by_nick(values, "cuda")->value, 2);
  g_type_class_unref(values);
}
GST_END_TEST;

GST_START_TEST(test_same_pads) {
  for (const char *pad : {"sink", "src"}) {
    GstCaps *a = template_caps(kElements[0], pad), *b = template_caps(kElements[1], pad);
    fail_unless(gst_caps_is_equal(a, b), "%s templates differ", pad);
    GstCaps *rgb = gst_caps_from_string("video/x-raw,format=RGB");
    GstCaps *i420 = gst_caps_from_string("video/x-raw,format=I420");
    fail_unless(gst_caps_can_intersect(a, rgb));
    fail_if(gst_caps_can_intersect(a, i420));
    gst_caps_unref(rgb);
    gst_caps_unref(i420);
    gst_caps_unref(a);
    gst_caps_unref(b);
  }
}
GST_END_TEST;

static GstHarness *started_harness(const char *name) {
  GstElement *e = gst_element_factory_make(name, nullptr);
  if (g_str_equal(name, "cbinferconv"))
    g_object_set(e, "model", (kModels + "/segnet_small.onnx").c_str(), nullptr);
  else
    g_object_set(e, "large-model", (kModels + "/saliency_large.onnx").c_str(), "small-model",
                 (kModels + "/saliency_small.onnx").c_str(), nullptr);
  g_object_set(e, "threads", 1, nullptr);
  GstHarness *hs = gst_harness_new_with_element(e, "sink", "src");
  gst_object_unref(e);
  gst_harness_set_src_caps_str(hs, "video/x-raw,format=RGB,width=64,height=32,framerate=30/1");
  return hs;
}

static GstClockTime query_min_latency(GstHarness *hs) {
  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_pad_peer_query(hs->sinkpad, query));
  GstClockTime min;
  gst_query_parse_latency(query, nullptr, &min, nullptr);
  gst_query_unref(query);
  return min;
}

// Both answer the latency query from the base: nothing added before the first
// frame, the processing time after the first frames, announced by a LATENCY message.
GST_START_TEST(test_latency_from_the_base) {
  for (const char *name : kElements) {
    GstHarness *hs = started_harness(name);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(hs->element, bus);
    const GstClockTime upstream = 10 * GST_MSECOND;
    gst_harness_set_upstream_latency(hs, upstream);
    fail_unless_equals_uint64(query_min_latency(hs), upstream);
    // Two frames: cbinferconv's latency covers its change frames (the dense first one only when refreshes recur).
    for (int t = 0; t < 2; ++t) {
      GstBuffer *buf = gst_buffer_new_allocate(nullptr, 64 * 32 * 3, nullptr);
      gst_buffer_memset(buf, 0, guint8(128 + 40 * t), 64 * 32 * 3);
      GST_BUFFER_PTS(buf) = t * GST_SECOND / 30;
      GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
      fail_unless_equals_int(gst_harness_push(hs, buf), GST_FLOW_OK);
      gst_buffer_unref(gst_harness_pull(hs));
    }
    fail_unless(query_min_latency(hs) > upstream, "%s: no processing time added", name);
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY);
    fail_unless(msg != nullptr, "%s: no LATENCY message", name);
    gst_message_unref(msg);
    gst_element_set_bus(hs->element, nullptr);
    gst_object_unref(bus);
    gst_harness_teardown(hs);
  }
}
GST_END_TEST;

static Suite *element_base_suite(void) {
  Suite *s = suite_create("element_base");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_one_base_one_backend_enum);
  tcase_add_test(tc, test_same_pads);
  tcase_add_test(tc, test_latency_from_the_base);
  return s;
}

GST_CHECK_MAIN(element_base);
