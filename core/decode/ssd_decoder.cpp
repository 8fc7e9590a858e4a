// SSD outputs (TF Object Detection API): box encodings [1, A, 4] relative to
// generated anchors, class scores [1, A, C]. Liu et al., "SSD", §2.1-2.2;
// anchors as the TF OD API ssd_anchor_generator makes them, boxes as its
// faster_rcnn box coder encodes them (Ren et al., "Faster R-CNN", eq. 2).
#include <cmath>

#include "decode/decoders.h"
#include "decode/detection_nms.h"
#include "sparseinfer/error.h"

namespace sparseinfer::decode {

std::vector<Anchor> ssd_anchors(const SsdAnchorParams& p, int height, int width) {
  auto ceil_div = [](int n, int s) { return (n + s - 1) / s; };
  // Scales spaced evenly from min to max over the layers, and 1.0 past the last (SSD eq. 4).
  std::vector<double> scales;
  for (int l = 0; l < p.num_layers; ++l)
    scales.push_back(p.num_layers == 1 ? p.min_scale
                                       : p.min_scale + (p.max_scale - p.min_scale) * l / (p.num_layers - 1.0));
  scales.push_back(1.0);
  // Anchors are square in pixels for ratio 1: normalized sizes scaled by min(H, W)/H and min(H, W)/W.
  const double base_h = double(std::min(height, width)) / height, base_w = double(std::min(height, width)) / width;

  std::vector<Anchor> out;
  int gh = ceil_div(height, p.first_stride), gw = ceil_div(width, p.first_stride);
  for (int l = 0; l < p.num_layers; ++l) {
    if (l > 0) {
      gh = ceil_div(gh, 2);
      gw = ceil_div(gw, 2);
    }
    std::vector<std::pair<double, double>> specs;  // (scale, aspect ratio)
    if (l == 0 && p.reduce_boxes_in_lowest_layer) {
      specs = {{0.1, 1.0}, {scales[0], 2.0}, {scales[0], 0.5}};
    } else {
      for (float r : p.aspect_ratios) specs.emplace_back(scales[size_t(l)], r);
      if (p.interpolated_scale_aspect_ratio > 0)
        specs.emplace_back(std::sqrt(scales[size_t(l)] * scales[size_t(l) + 1]), p.interpolated_scale_aspect_ratio);
    }
    for (int y = 0; y < gh; ++y)
      for (int x = 0; x < gw; ++x)
        for (const auto& [s, r] : specs) {
          const double sr = std::sqrt(r);
          out.push_back({float((y + 0.5) / gh), float((x + 0.5) / gw), float(s / sr * base_h), float(s * sr * base_w)});
        }
  }
  return out;
}

DecodeResult decode_ssd(const ModelDescription& d, const std::vector<NamedOutput>& outputs, const FrameGeometry& g) {
  const Tensor& enc = find_output(outputs, d.ssd.boxes_output, 0, "decoder.boxes_output");
  const Tensor& sc = find_output(outputs, d.ssd.scores_output, 1, "decoder.scores_output");
  if (enc.dtype() != DType::Float32 || sc.dtype() != DType::Float32 || enc.rank() != 3 || sc.rank() != 3 ||
      enc.dim(0) != 1 || sc.dim(0) != 1 || enc.dim(2) != 4 || sc.dim(1) != enc.dim(1))
    throw Error("ssd outputs must be box encodings [1,A,4] and scores [1,A,C], got " + shape_str(enc.shape()) +
                " and " + shape_str(sc.shape()));
  const std::vector<Anchor> anchors = ssd_anchors(d.ssd.anchors, g.network_height, g.network_width);
  if (int64_t(anchors.size()) != enc.dim(1))
    throw Error("ssd: decoder.anchors make " + std::to_string(anchors.size()) + " anchors for a " +
                std::to_string(g.network_width) + "x" + std::to_string(g.network_height) + " input, the outputs have " +
                std::to_string(enc.dim(1)));
  const int64_t classes = sc.dim(2);
  const int64_t first_class = d.ssd.has_background_class ? 1 : 0;
  const BoxCoderParams& coder = d.ssd.box_coder;
  const float* e = enc.f32();
  const float* s = sc.f32();
  const float nw = float(g.network_width), nh = float(g.network_height);

  std::vector<Detection> found;
  for (size_t a = 0; a < anchors.size(); ++a) {
    for (int64_t c = first_class; c < classes; ++c) {
      float p = s[int64_t(a) * classes + c];
      if (!d.ssd.scores_are_probabilities) p = 1.0f / (1.0f + std::exp(-p));
      if (!(p > d.detection.score_threshold)) continue;
      const Anchor& an = anchors[a];
      const float* t = e + a * 4;  // (ty, tx, th, tw)
      const float yc = t[0] / coder.y_scale * an.h + an.yc;
      const float xc = t[1] / coder.x_scale * an.w + an.xc;
      const float h = std::exp(t[2] / coder.h_scale) * an.h;
      const float w = std::exp(t[3] / coder.w_scale) * an.w;
      // Not clipped to the frame: a box may reach past the border, as the reference decoder's do.
      Detection det{(xc - w / 2) * nw, (yc - h / 2) * nh, (xc + w / 2) * nw, (yc + h / 2) * nh, p, int(c)};
      if (is_degenerate(det)) continue;
      found.push_back(det);
    }
  }
  DecodeResult r;
  r.kind = DecoderKind::Ssd;
  for (const Detection& det : non_max_suppression(std::move(found), d.detection))
    r.detections.push_back(to_frame_pixels(det, g));
  return r;
}

}  // namespace sparseinfer::decode
