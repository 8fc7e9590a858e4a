#include "ops/change_set.h"

namespace sparseinfer {

void extract_changes(std::vector<uint8_t>& flags, ChangeSet& set) {
  set.pixels.clear();
  const int64_t n = static_cast<int64_t>(flags.size());
  uint8_t* f = flags.data();
  // Scan 8 flags at a time: most of a frame is unchanged.
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    __builtin_memcpy(&word, f + i, 8);
    if (!word) continue;
    for (int64_t k = i; k < i + 8; ++k)
      if (f[k]) {
        set.pixels.push_back(static_cast<int32_t>(k));
        f[k] = 0;
      }
  }
  for (; i < n; ++i)
    if (f[i]) {
      set.pixels.push_back(static_cast<int32_t>(i));
      f[i] = 0;
    }
  set.kind = set.pixels.empty() ? ChangeSet::Kind::None : ChangeSet::Kind::Pixels;
}

}  // namespace sparseinfer
