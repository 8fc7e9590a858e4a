#include "engine/buffer_plan.h"

#include <algorithm>
#include <numeric>

namespace sparseinfer {

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

BufferPlan plan_buffers(const std::vector<BufferRequest>& requests) {
  BufferPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  // Placing big buffers first keeps the arena close to the peak live size.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });

  struct Placed {
    size_t offset, bytes;
    int first, last;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const BufferRequest& r = requests[idx];
    size_t bytes = align64(std::max<size_t>(r.bytes, 1));
    // Blocks already placed whose lifetime overlaps this one, by offset.
    std::vector<Placed> conflicts;
    for (const Placed& p : placed)
      if (p.first <= r.last_step && r.first_step <= p.last) conflicts.push_back(p);
    std::sort(conflicts.begin(), conflicts.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    size_t offset = 0;
    for (const Placed& p : conflicts) {
      if (offset + bytes <= p.offset) break;
      offset = std::max(offset, p.offset + p.bytes);
    }
    plan.offsets[idx] = offset;
    placed.push_back({offset, bytes, r.first_step, r.last_step});
    plan.arena_bytes = std::max(plan.arena_bytes, offset + bytes);
  }
  return plan;
}

}  // namespace sparseinfer
