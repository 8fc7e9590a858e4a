// One mapped video frame as the GObject-free drivers read it.
#pragma once

#include <cstdint>

#include "sparseinfer/preprocess.h"

namespace sparseinfer::gst {

struct FrameView {
  const uint8_t* pixels = nullptr;  // plane 0, packed pixels
  int width = 0;
  int height = 0;
  int stride = 0;  // bytes per row
  PixelFormat format = PixelFormat::RGB;
};

}  // namespace sparseinfer::gst
