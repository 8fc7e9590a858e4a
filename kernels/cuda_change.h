// Public face of the CUDA backend of sparseinfer: a context per engine
// instance, device buffers, the change-based kernels (CBinfer §III), a dense
// convolution baseline, and change-based convolution and pooling layers. Knows nothing
// of GStreamer; no CUDA header is needed to use it.
#pragma once

#include "change_kernels.h"
#include "cuda_change_conv.h"
#include "cuda_change_pool.h"
#include "cuda_context.h"
#include "dense_conv.h"
#include "device_buffer.h"
