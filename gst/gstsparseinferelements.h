/* Element registration entry points of the sparseinfer plugin. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE(cbinferconv);
GST_ELEMENT_REGISTER_DECLARE(sparseinferoverlay);
GST_ELEMENT_REGISTER_DECLARE(saliencyscheduler);
GST_ELEMENT_REGISTER_DECLARE(sparseinferpublish);
GST_ELEMENT_REGISTER_DECLARE(blockcopypolicy);

G_END_DECLS
