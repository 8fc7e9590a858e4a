#include "sparseinfer/model.h"

namespace sparseinfer {

Model optimize_model(const Model& model) { return model; }

}  // namespace sparseinfer
