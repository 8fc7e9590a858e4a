#include "cpu/cpu_ops.h"

namespace sparseinfer {

void register_cpu_ops(OpTable& table) {
  register_conv_cpu(table);
  register_conv_transpose_cpu(table);
  register_matmul_cpu(table);
  register_pool_cpu(table);
  register_resize_cpu(table);
}

}  // namespace sparseinfer
