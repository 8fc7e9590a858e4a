// A 5x7 bitmap font for overlay text: digits, upper-case letters (lower case
// is drawn upper case) and the punctuation that labels and numbers need.
#pragma once

#include <array>
#include <cstdint>

namespace sparseinfer::gst {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kGlyphAdvance = kGlyphWidth + 1;  // one column of spacing

// Seven rows, top first; bit 4 of a row is the leftmost column. Characters
// without a glyph come back as a hollow box.
const std::array<uint8_t, kGlyphHeight>& glyph(char c);

}  // namespace sparseinfer::gst
