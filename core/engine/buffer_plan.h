// Assigns activation buffers to offsets in one arena so that values whose
// lifetimes do not overlap share memory: the dense engine reuses buffers
// across layers and allocates nothing per frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparseinfer {

struct BufferRequest {
  size_t bytes = 0;
  int first_step = 0;  // step that writes the value
  int last_step = 0;   // last step that reads it (INT32_MAX: live to the end)
};

struct BufferPlan {
  std::vector<size_t> offsets;  // byte offset per request, 64-byte aligned
  size_t arena_bytes = 0;
};

// Greedy first-fit by decreasing size over the live intervals.
BufferPlan plan_buffers(const std::vector<BufferRequest>& requests);

}  // namespace sparseinfer
