// Segmentation outputs: per-pixel class scores [1, C, H, W] (each pixel takes
// its arg-max class; softmax keeps the order, so it is not evaluated), or one
// channel [1, 1, H, W] of foreground logits (sigmoid) or probabilities,
// thresholded. The map is cropped to the frame's content rectangle.
#include <algorithm>
#include <cmath>

#include "decode/decoders.h"
#include "sparseinfer/error.h"

namespace sparseinfer::decode {

DecodeResult decode_segmentation(const ModelDescription& d, const std::vector<NamedOutput>& outputs,
                                 const FrameGeometry& g) {
  const SegmentationParams& p = d.segmentation;
  const Tensor& out = find_output(outputs, p.output, 0, "decoder.output");
  if (out.dtype() != DType::Float32 || out.rank() != 4 || out.dim(0) != 1 || out.dim(1) < 1)
    throw Error("segmentation output must be [1,C,H,W], got " + shape_str(out.shape()));
  const int64_t classes = out.dim(1), h = out.dim(2), w = out.dim(3);
  const bool one_channel = p.activation != SegmentationActivation::Softmax;
  if (one_channel && classes != 1)
    throw Error("segmentation: decoder.activation sigmoid/none needs one output channel, got " +
                shape_str(out.shape()));
  if (!one_channel && classes < 2)
    throw Error("segmentation: decoder.activation softmax needs two or more output channels, got " +
                shape_str(out.shape()));

  // Content rectangle on the output grid (the output may be coarser than the input).
  const double fx = double(w) / g.network_width, fy = double(h) / g.network_height;
  const int64_t x0 = std::clamp<int64_t>(int64_t(std::floor(g.content_x * fx)), 0, w);
  const int64_t y0 = std::clamp<int64_t>(int64_t(std::floor(g.content_y * fy)), 0, h);
  const int64_t x1 = std::clamp<int64_t>(int64_t(std::ceil((g.content_x + g.content_width) * fx)), x0, w);
  const int64_t y1 = std::clamp<int64_t>(int64_t(std::ceil((g.content_y + g.content_height) * fy)), y0, h);

  DecodeResult r;
  r.kind = DecoderKind::Segmentation;
  r.map_width = int(x1 - x0);
  r.map_height = int(y1 - y0);
  r.class_map.resize(size_t(r.map_width) * size_t(r.map_height));
  const int64_t num_classes = one_channel ? 2 : classes;
  std::vector<int64_t> counts(size_t(num_classes), 0);
  const float* v = out.f32();
  const int64_t plane = h * w;
  // sigmoid(x) > t  <=>  x > logit(t), for 0 < t < 1.
  float cut = p.threshold;
  if (p.activation == SegmentationActivation::Sigmoid)
    cut = p.threshold <= 0 ? -INFINITY : p.threshold >= 1 ? INFINITY : std::log(p.threshold / (1 - p.threshold));
  size_t at = 0;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x, ++at) {
      const int64_t i = y * w + x;
      int32_t best = 0;
      if (one_channel) {
        best = v[i] > cut ? 1 : 0;
      } else {
        float best_score = v[i];
        for (int64_t c = 1; c < classes; ++c)
          if (v[c * plane + i] > best_score) {
            best_score = v[c * plane + i];
            best = int32_t(c);
          }
      }
      r.class_map[at] = best;
      ++counts[size_t(best)];
    }
  const double total = double(r.class_map.size());
  for (int64_t c : counts) r.class_fractions.push_back(total > 0 ? double(c) / total : 0.0);
  return r;
}

}  // namespace sparseinfer::decode
