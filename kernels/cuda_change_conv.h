// One change-based convolution layer on the GPU (CBinfer §III): the device
// weights, the closed-loop input state, the previous output, and the
// detect -> extract -> gather -> GEMM -> update pipeline between them, with
// per-stage timing from CUDA events (CBinfer Fig. 10).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "change_kernels.h"
#include "dense_conv.h"
#include "device_buffer.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"

struct CUevent_st;

namespace sparseinfer::cuda {

class CudaContext;

struct CudaChangeConvOptions {
  bool fp16 = false;                            // tensor-core GEMM on fp16 patches and weights, fp32 accumulation
  double dense_beyond = 0.6;                    // recompute densely past this share of affected outputs
  int64_t max_patch_floats = int64_t(1) << 24;  // cap of the patch matrix, so buffers do not scale with frames
  bool timing = true;                           // record CUDA events around the stages
};

// Milliseconds per stage of the last run(), as in CBinfer Fig. 10; a dense
// recomputation counts as gemm (as the CPU change engine counts it).
struct CudaStageTimes {
  double detect_ms = 0, extract_ms = 0, gather_ms = 0, gemm_ms = 0, update_ms = 0;
};

class CudaChangeConv {
 public:
  // Uploads weights [Cout x Cin/group x kh x kw] and bias [Cout] (may be null)
  // from host memory and allocates every buffer the layer will need.
  CudaChangeConv(CudaContext& ctx, const ConvGeometry& g, const float* weights, const float* bias,
                 const Activation& act, const CudaChangeConvOptions& options = {});
  ~CudaChangeConv();
  CudaChangeConv(const CudaChangeConv&) = delete;
  CudaChangeConv& operator=(const CudaChangeConv&) = delete;

  // Processes one frame (device NCHW input). `candidates` lists the input
  // pixels that may have changed (sorted flat indices, as the previous layer's
  // changed_pixels()); null means any pixel may have changed. The first run
  // after construction or reset() is dense and stores the input state. Leaves
  // output() updated and changed_pixels() / changed_count() / all_changed()
  // describing which output pixels differ from the previous frame's output.
  // Waits for the stream once (the changed counts); the output is ready in
  // stream order.
  void run(const float* input, const int32_t* candidates, int n_candidates, float threshold);
  // Forgets the input state: the next run is dense.
  void reset() { primed_ = false; }

  const ConvGeometry& geometry() const { return g_; }
  const float* output() const { return output_.data(); }
  const float* input_state() const { return state_.data(); }
  // Changed output pixels of the last run (device, sorted); meaningful unless all_changed().
  const int32_t* changed_pixels() const { return out_pixels_.data(); }
  int changed_count() const { return out_count_; }
  bool all_changed() const { return all_changed_; }
  // Input pixels accepted as changed by the last run (-1 when not counted: dense or 1x1 layers).
  int input_changed_count() const { return in_count_; }
  // Their sorted indices (device), when input_changed_count() > 0.
  const int32_t* input_changed_pixels() const { return in_pixels_.data(); }
  // Multiply-accumulates of the last run.
  int64_t macs() const { return macs_; }
  // Stage times of the last run; waits for the stream.
  CudaStageTimes stage_times() const;
  // Device bytes held by this layer.
  size_t device_bytes() const;

 private:
  enum class Stage : uint8_t { Detect, Extract, Gather, Gemm, Update };
  // Spatial windows detect changes against the input state; 1x1 layers reuse their input's indexes.
  bool detects() const;
  void mark(Stage ended);
  void run_dense(const float* source);
  void run_sparse(const float* source, int64_t total);
  void set_unchanged();

  CudaContext& ctx_;
  ConvGeometry g_;
  Activation act_;
  CudaChangeConvOptions options_;
  CudaDenseConv dense_;
  IndexExtractor extractor_;
  DeviceBuffer<float> weights_, bias_, state_, output_, patches_, y_;
  DeviceBuffer<uint16_t> weights_f16_, patches_f16_;
  DeviceBuffer<uint8_t> in_flags_, out_flags_;
  DeviceBuffer<int32_t> in_pixels_, out_pixels_, counts_;
  int64_t chunk_ = 0;
  bool has_bias_ = false, primed_ = false, all_changed_ = true;
  float last_threshold_ = 0.0f;
  int out_count_ = 0, in_count_ = -1;
  int64_t macs_ = 0;
  // Timing: events[0] opens the run; each later event ends the stage stored beside it.
  std::vector<CUevent_st*> events_;
  std::vector<Stage> event_stages_;
  size_t events_used_ = 0;
};

}  // namespace sparseinfer::cuda
