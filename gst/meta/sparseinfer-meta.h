/* The sparseinfer meta library: what cbinferconv attaches to video buffers,
 * for applications and downstream elements (pkg-config: sparseinfer-meta-1.0).
 *
 *   GstSparseinferTensorMeta  output tensors, model name, task hint
 *   GstSparseinferStreamMeta  stream id, frame index, frame statistics, change mask,
 *                             saliency state (saliencyscheduler: maps of the last large run)
 *
 * Detections are also attached as GstVideoRegionOfInterestMeta (roi type
 * "sparseinfer-detection", a "detection" param structure with label-id and
 * confidence). */
#pragma once

#include "gstsparseinferframestats.h"
#include "gstsparseinfersaliencystate.h"
#include "gstsparseinferstreammeta.h"
#include "gstsparseinfertensormeta.h"
