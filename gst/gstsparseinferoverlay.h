/* sparseinferoverlay: draws what cbinferconv's metas carry onto the frame. */
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_SPARSEINFER_OVERLAY (gst_sparseinfer_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstSparseinferOverlay, gst_sparseinfer_overlay, GST, SPARSEINFER_OVERLAY, GstVideoFilter)

G_END_DECLS
