/* The sparseinfer plugin: change-based CNN inference on video
 * (cbinferconv), saliency dual-stream classification (saliencyscheduler) and a
 * drawing element for their results (sparseinferoverlay). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstsparseinferelements.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(cbinferconv, plugin);
  ok |= GST_ELEMENT_REGISTER(sparseinferoverlay, plugin);
  ok |= GST_ELEMENT_REGISTER(saliencyscheduler, plugin);
  ok |= GST_ELEMENT_REGISTER(sparseinferpublish, plugin);
  ok |= GST_ELEMENT_REGISTER(blockcopypolicy, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, sparseinfer,
                  "Change-based CNN inference on video (CBinfer) with results as buffer metas", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
