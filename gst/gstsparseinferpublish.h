/* sparseinferpublish: sends each frame's results as a JSON line to a file or an MQTT broker. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstSparseinferPublishMethod:
 * @GST_SPARSEINFER_PUBLISH_FILE: JSON lines appended to the file "location"
 * @GST_SPARSEINFER_PUBLISH_MQTT: one MQTT message per frame (libmosquitto)
 *
 * Where sparseinferpublish sends its lines (its "method" property).
 */
typedef enum {
  GST_SPARSEINFER_PUBLISH_FILE,
  GST_SPARSEINFER_PUBLISH_MQTT,
} GstSparseinferPublishMethod;

#define GST_TYPE_SPARSEINFER_PUBLISH (gst_sparseinfer_publish_get_type())
G_DECLARE_FINAL_TYPE(GstSparseinferPublish, gst_sparseinfer_publish, GST, SPARSEINFER_PUBLISH, GstBaseTransform)

G_END_DECLS
