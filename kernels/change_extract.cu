// Change-index extraction: stream compaction of a flag map into the sorted
// list of flagged flat indices (CBinfer §III-A "change indexes").
#include <thrust/iterator/counting_iterator.h>

#include <cub/device/device_select.cuh>

#include "change_kernels.h"
#include "cuda_check.h"
#include "cuda_context.h"

namespace sparseinfer::cuda {

void IndexExtractor::select(const CudaContext& ctx, const uint8_t* flags, int64_t n, int32_t* indices,
                            int32_t* d_count) {
  if (n > INT32_MAX) throw Error("change-index extraction: " + std::to_string(n) + " pixels exceed int32 indices");
  const thrust::counting_iterator<int32_t> positions(0);
  const int num = static_cast<int>(n);
  size_t temp_bytes = 0;
  check_cuda(cub::DeviceSelect::Flagged(nullptr, temp_bytes, positions, flags, indices, d_count, num, ctx.stream()),
             "cub::DeviceSelect::Flagged (size query)");
  temp_.reserve(temp_bytes);
  // DeviceSelect keeps the input order, so the indices come out sorted.
  check_cuda(
      cub::DeviceSelect::Flagged(temp_.data(), temp_bytes, positions, flags, indices, d_count, num, ctx.stream()),
      "cub::DeviceSelect::Flagged");
}

}  // namespace sparseinfer::cuda
