/* saliencyscheduler: dual-stream classification with saliency maps. */
#pragma once

#include <gst/gst.h>

#include "gstsparseinferelement.h"

G_BEGIN_DECLS

#define GST_TYPE_SALIENCY_SCHEDULER (gst_saliency_scheduler_get_type())
G_DECLARE_FINAL_TYPE(GstSaliencyScheduler, gst_saliency_scheduler, GST, SALIENCY_SCHEDULER, GstSparseinferElement)

/**
 * GstSaliencySchedulerSchedule:
 * @GST_SALIENCY_SCHEDULER_SCHEDULE_FIXED: the large model every period frames (the paper)
 * @GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE: earlier on scene change or an unsure small model,
 *   later while still, average cost under max-cost
 */
typedef enum {
  GST_SALIENCY_SCHEDULER_SCHEDULE_FIXED,
  GST_SALIENCY_SCHEDULER_SCHEDULE_ADAPTIVE,
} GstSaliencySchedulerSchedule;

/**
 * GstSaliencySchedulerSmallMode:
 * @GST_SALIENCY_SCHEDULER_SMALL_MODE_DENSE: the small model in full on its frames
 * @GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE: the small model recomputes only what changed (CBinfer)
 */
typedef enum {
  GST_SALIENCY_SCHEDULER_SMALL_MODE_DENSE,
  GST_SALIENCY_SCHEDULER_SMALL_MODE_CHANGE,
} GstSaliencySchedulerSmallMode;

G_END_DECLS
