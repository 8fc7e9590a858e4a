#include "policy/output_reader.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sparseinfer/decode.h"
#include "sparseinfer/error.h"

namespace sparseinfer::policy {

namespace {

const Tensor& map_output(const std::vector<const Tensor*>& outputs, size_t index) {
  if (index >= outputs.size() || outputs[index] == nullptr)
    throw Error("policy: the network has no output " + std::to_string(index) + " to read as a probability map");
  const Tensor& t = *outputs[index];
  if (t.dtype() != DType::Float32 || t.shape().size() != 4 || t.dim(0) != 1)
    throw Error("policy: output " + std::to_string(index) + " is " + shape_str(t.shape()) +
                ", a probability map must be [1, C, H, W] float");
  return t;
}

OutputReading reading_of(const Tensor& t) {
  OutputReading r;
  r.map_channels = int(t.dim(1));
  r.map_height = int(t.dim(2));
  r.map_width = int(t.dim(3));
  r.probabilities.assign(t.f32(), t.f32() + t.numel());
  return r;
}

}  // namespace

OutputReader probability_map_reader(size_t index) {
  return [index](const std::vector<const Tensor*>& outputs) { return reading_of(map_output(outputs, index)); };
}

OutputReader description_output_reader(const ModelDescription& description, std::vector<std::string> output_names,
                                       int network_width, int network_height) {
  switch (description.decoder) {
    case DecoderKind::Ssd:
    case DecoderKind::Centernet: {
      // Boxes in network-input pixels: the "frame" is the network input itself.
      FrameGeometry g;
      g.network_width = g.frame_width = g.content_width = network_width;
      g.network_height = g.frame_height = g.content_height = network_height;
      return [description, output_names, g](const std::vector<const Tensor*>& outputs) {
        std::vector<NamedOutput> named;
        for (size_t i = 0; i < outputs.size() && i < output_names.size(); ++i)
          named.push_back({output_names[i], outputs[i]});
        const DecodeResult decoded = decode_outputs(description, named, g);
        OutputReading r;
        for (const sparseinfer::Detection& d : decoded.detections)
          r.detections.push_back(Detection{d.x1, d.y1, d.x2, d.y2, d.score, d.label});
        return r;
      };
    }
    case DecoderKind::Segmentation: {
      size_t index = 0;
      if (!description.segmentation.output.empty()) {
        const auto it = std::find(output_names.begin(), output_names.end(), description.segmentation.output);
        if (it == output_names.end())
          throw Error(description.source + ": segmentation output '" + description.segmentation.output +
                      "' is not an output of the network");
        index = size_t(it - output_names.begin());
      }
      const SegmentationActivation activation = description.segmentation.activation;
      return [index, activation](const std::vector<const Tensor*>& outputs) {
        OutputReading r = reading_of(map_output(outputs, index));
        const int64_t plane = int64_t(r.map_height) * r.map_width;
        if (activation == SegmentationActivation::Sigmoid) {
          for (float& v : r.probabilities) v = float(1.0 / (1.0 + std::exp(-double(v))));
        } else if (activation == SegmentationActivation::Softmax && r.map_channels > 1) {
          for (int64_t i = 0; i < plane; ++i) {
            float top = r.probabilities[i];
            for (int c = 1; c < r.map_channels; ++c) top = std::max(top, r.probabilities[c * plane + i]);
            double sum = 0;
            for (int c = 0; c < r.map_channels; ++c) sum += std::exp(double(r.probabilities[c * plane + i] - top));
            for (int c = 0; c < r.map_channels; ++c)
              r.probabilities[c * plane + i] = float(std::exp(double(r.probabilities[c * plane + i] - top)) / sum);
          }
        }
        return r;
      };
    }
    case DecoderKind::None:
    case DecoderKind::Classification:
      break;
  }
  throw Error(std::string(description.present ? description.source : "the model") + ": decoder '" +
              decoder_kind_name(description.decoder) +
              "' gives no detections or maps; the policy needs an ssd, centernet or segmentation decoder");
}

}  // namespace sparseinfer::policy
