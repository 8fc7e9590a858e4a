// decode_outputs(): picks the decoder the description names, and the
// geometry that maps network input pixels back to the frame.
#include "decode/decoders.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

FrameGeometry frame_geometry(int frame_width, int frame_height, const PreprocessOptions& options) {
  FrameGeometry g;
  g.frame_width = frame_width;
  g.frame_height = frame_height;
  g.network_width = options.width > 0 ? options.width : frame_width;
  g.network_height = options.height > 0 ? options.height : frame_height;
  const ResizePlacement p = resize_placement(frame_width, frame_height, options);
  g.content_x = p.x;
  g.content_y = p.y;
  g.content_width = p.width;
  g.content_height = p.height;
  return g;
}

DecodeResult decode_outputs(const ModelDescription& description, const std::vector<NamedOutput>& outputs,
                            const FrameGeometry& geometry) {
  if (description.decoder != DecoderKind::None &&
      (geometry.network_width <= 0 || geometry.network_height <= 0 || geometry.frame_width <= 0 ||
       geometry.frame_height <= 0 || geometry.content_width <= 0 || geometry.content_height <= 0))
    throw Error("decode: the frame geometry has an empty network input, frame or content rectangle");
  switch (description.decoder) {
    case DecoderKind::None:
      return {};
    case DecoderKind::Ssd:
      return decode::decode_ssd(description, outputs, geometry);
    case DecoderKind::Centernet:
      return decode::decode_centernet_outputs(description, outputs, geometry);
    case DecoderKind::Segmentation:
      return decode::decode_segmentation(description, outputs, geometry);
    case DecoderKind::Classification:
      return decode::decode_classification(description, outputs);
  }
  return {};
}

namespace decode {

const Tensor& find_output(const std::vector<NamedOutput>& outputs, const std::string& name, size_t fallback,
                          const char* field) {
  if (name.empty()) {
    if (fallback < outputs.size() && outputs[fallback].tensor) return *outputs[fallback].tensor;
    throw Error(std::string("decode: ") + field + ": the model has no output #" + std::to_string(fallback));
  }
  for (const NamedOutput& o : outputs)
    if (o.name == name && o.tensor) return *o.tensor;
  throw Error(std::string("decode: ") + field + ": the model has no output '" + name + "'");
}

Detection to_frame_pixels(Detection d, const FrameGeometry& g) {
  const float sx = static_cast<float>(g.frame_width) / static_cast<float>(g.content_width);
  const float sy = static_cast<float>(g.frame_height) / static_cast<float>(g.content_height);
  d.x1 = (d.x1 - static_cast<float>(g.content_x)) * sx;
  d.x2 = (d.x2 - static_cast<float>(g.content_x)) * sx;
  d.y1 = (d.y1 - static_cast<float>(g.content_y)) * sy;
  d.y2 = (d.y2 - static_cast<float>(g.content_y)) * sy;
  return d;
}

DecodeResult decode_centernet_outputs(const ModelDescription& d, const std::vector<NamedOutput>& outputs,
                                      const FrameGeometry& g) {
  const Tensor& heatmap = find_output(outputs, d.centernet.heatmap_output, 0, "decoder.heatmap_output");
  const Tensor& boxes = find_output(outputs, d.centernet.boxes_output, 1, "decoder.boxes_output");
  DecodeResult r;
  r.kind = DecoderKind::Centernet;
  for (const Detection& det : decode_centernet(heatmap, boxes, g.network_width, g.network_height, d.detection))
    r.detections.push_back(to_frame_pixels(det, g));
  return r;
}

}  // namespace decode
}  // namespace sparseinfer
