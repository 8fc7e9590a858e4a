#include "ops/op.h"

namespace sparseinfer {

void register_resize_ops(OpTable&) {}

}  // namespace sparseinfer
