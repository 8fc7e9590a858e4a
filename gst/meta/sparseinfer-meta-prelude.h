/* Symbol export for the sparseinfer meta library (gst-libs style). */
#pragma once

#include <gst/gst.h>

#ifdef BUILDING_GST_SPARSEINFER_META
#define GST_SPARSEINFER_META_API GST_API_EXPORT
#else
#define GST_SPARSEINFER_META_API GST_API_IMPORT
#endif
