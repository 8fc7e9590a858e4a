// Decodes detnet-style outputs (make_models.py DetNetSmall): a sigmoid centre
// heatmap [1, K, h, w] and box distances [1, 4, h, w] (left, top, right,
// bottom, in cells) on a grid of stride-sized cells, into scored boxes.
#include <algorithm>

#include "decode/detection_nms.h"
#include "sparseinfer/decode.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::vector<Detection> decode_centernet(const Tensor& heatmap, const Tensor& boxes, int input_width, int input_height,
                                        const DetectionParams& params) {
  if (heatmap.rank() != 4 || boxes.rank() != 4 || boxes.dim(1) != 4 || heatmap.dim(2) != boxes.dim(2) ||
      heatmap.dim(3) != boxes.dim(3) || heatmap.dtype() != DType::Float32 || boxes.dtype() != DType::Float32)
    throw Error("detection outputs must be heatmap [1,K,h,w] and boxes [1,4,h,w], got " + shape_str(heatmap.shape()) +
                " and " + shape_str(boxes.shape()));
  const int64_t classes = heatmap.dim(1), h = heatmap.dim(2), w = heatmap.dim(3);
  const int64_t plane = h * w;
  const float stride_x = static_cast<float>(input_width) / static_cast<float>(w);
  const float stride_y = static_cast<float>(input_height) / static_cast<float>(h);
  const float* hm = heatmap.f32();
  const float* bx = boxes.f32();

  std::vector<Detection> found;
  for (int64_t k = 0; k < classes; ++k) {
    const float* score = hm + k * plane;
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < w; ++j) {
        const float s = score[i * w + j];
        if (s < params.score_threshold) continue;
        bool peak = true;
        for (int64_t di = -1; di <= 1 && peak; ++di)
          for (int64_t dj = -1; dj <= 1; ++dj) {
            const int64_t y = i + di, x = j + dj;
            if ((di || dj) && y >= 0 && y < h && x >= 0 && x < w && score[y * w + x] > s) {
              peak = false;
              break;
            }
          }
        if (!peak) continue;
        const float cx = (static_cast<float>(j) + 0.5f) * stride_x;
        const float cy = (static_cast<float>(i) + 0.5f) * stride_y;
        const int64_t at = i * w + j;
        Detection d{cx - stride_x * bx[at],
                    cy - stride_y * bx[plane + at],
                    cx + stride_x * bx[2 * plane + at],
                    cy + stride_y * bx[3 * plane + at],
                    s,
                    static_cast<int>(k)};
        d.x1 = std::clamp(d.x1, 0.0f, static_cast<float>(input_width));
        d.y1 = std::clamp(d.y1, 0.0f, static_cast<float>(input_height));
        d.x2 = std::clamp(d.x2, 0.0f, static_cast<float>(input_width));
        d.y2 = std::clamp(d.y2, 0.0f, static_cast<float>(input_height));
        if (is_degenerate(d)) continue;
        found.push_back(d);
      }
    }
  }
  return decode::non_max_suppression(std::move(found), params);
}

}  // namespace sparseinfer
