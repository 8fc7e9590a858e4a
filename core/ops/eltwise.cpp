#include "ops/eltwise.h"

#include <cstddef>

namespace sparseinfer {

BroadcastOperand broadcast_operand(const float* data, const int64_t* shape, int rank, const int64_t out[4]) {
  BroadcastOperand op;
  op.data = data;
  int64_t stride = 1;
  for (int d = 3, s = rank - 1; d >= 0; --d, --s) {
    int64_t dim = s >= 0 ? shape[s] : 1;
    op.stride[static_cast<size_t>(d)] = dim == 1 && out[d] != 1 ? 0 : stride;
    stride *= dim;
  }
  return op;
}

}  // namespace sparseinfer
