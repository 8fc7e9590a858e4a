/* blockcopypolicy: block-sparse CNN inference with feature transfer (BlockCopy). */
#pragma once

#include <gst/gst.h>

#include "gstsparseinferelement.h"
#include "sparseinfer-meta.h"

G_BEGIN_DECLS

#define GST_TYPE_BLOCK_COPY_POLICY (gst_block_copy_policy_get_type())
G_DECLARE_FINAL_TYPE(GstBlockCopyPolicy, gst_block_copy_policy, GST, BLOCK_COPY_POLICY, GstSparseinferElement)

typedef enum {
  GST_BLOCK_COPY_POLICY_GATE_CHANGE,
  GST_BLOCK_COPY_POLICY_GATE_POLICY,
} GstBlockCopyPolicyGate;

G_END_DECLS
