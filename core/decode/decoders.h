// The decoders behind decode_outputs(), one per file in core/decode/.
#pragma once

#include <vector>

#include "sparseinfer/decode.h"

namespace sparseinfer::decode {

// The output called `name`, or the `fallback`-th one when `name` is empty.
// Throws Error naming the description field `field` when there is none.
const Tensor& find_output(const std::vector<NamedOutput>& outputs, const std::string& name, size_t fallback,
                          const char* field);

// Maps a box in network input pixels to frame pixels through the content rectangle.
Detection to_frame_pixels(Detection d, const FrameGeometry& g);

// TF OD API ssd_anchor_generator anchors for an input of height x width:
// (yc, xc, h, w) per anchor in normalized coordinates, in row, column, anchor order.
struct Anchor {
  float yc, xc, h, w;
};
std::vector<Anchor> ssd_anchors(const SsdAnchorParams& params, int height, int width);

DecodeResult decode_ssd(const ModelDescription& d, const std::vector<NamedOutput>& outputs, const FrameGeometry& g);
DecodeResult decode_centernet_outputs(const ModelDescription& d, const std::vector<NamedOutput>& outputs,
                                      const FrameGeometry& g);
DecodeResult decode_segmentation(const ModelDescription& d, const std::vector<NamedOutput>& outputs,
                                 const FrameGeometry& g);
DecodeResult decode_classification(const ModelDescription& d, const std::vector<NamedOutput>& outputs);

}  // namespace sparseinfer::decode
