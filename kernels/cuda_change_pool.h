// One change-based pooling layer on the GPU (CBinfer §III-E): the output
// pixels whose window covers a changed input pixel are pooled again, the rest
// keep last frame's values. Per stream, like CudaChangeConv.
#pragma once

#include <cstdint>

#include "change_kernels.h"
#include "device_buffer.h"
#include "ops/conv_geometry.h"

namespace sparseinfer::cuda {

class CudaContext;

class CudaChangePool {
 public:
  CudaChangePool(CudaContext& ctx, const ConvGeometry& g, PoolKind kind, bool count_include_pad);

  // `changed`/n_changed: the input's changed pixels (device, sorted); null
  // means all of them (first frame, or a layer that recomputed everything).
  // Waits for the stream once when only some pixels changed (the count).
  void run(const float* input, const int32_t* changed, int n_changed);

  const float* output() const { return output_.data(); }
  const int32_t* changed_pixels() const { return out_pixels_.data(); }
  int changed_count() const { return out_count_; }
  bool all_changed() const { return all_changed_; }
  size_t device_bytes() const;

 private:
  CudaContext& ctx_;
  ConvGeometry g_;
  PoolKind kind_;
  bool count_include_pad_;
  IndexExtractor extractor_;
  DeviceBuffer<float> output_;
  DeviceBuffer<uint8_t> in_flags_, out_flags_;
  DeviceBuffer<int32_t> out_pixels_, count_;
  int out_count_ = 0;
  bool all_changed_ = true;
};

}  // namespace sparseinfer::cuda
