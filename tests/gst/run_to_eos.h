// Plays a test pipeline to its end: fails the check on a state-change
// failure, an ERROR message (with its text) or no EOS within `timeout`, and
// leaves the pipeline in NULL for the caller to unref.
#pragma once

#include <gst/check/gstcheck.h>

inline void run_to_eos(GstElement *pipeline, GstClockTime timeout) {
  fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, timeout, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != nullptr, "pipeline timed out");
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *e = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error(msg, &e, &debug);
    fail("pipeline error: %s (%s)", e->message, debug ? debug : "");
  }
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
}
