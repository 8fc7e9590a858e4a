// NumPy .npy files (format 1.0-3.0, little-endian, C order) for the CLI,
// tests and benchmarks: float32 and int64 read and written; float64, int32
// and bool read and converted.
#pragma once

#include <string>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

// Throws sparseinfer::Error naming the file and the reason.
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace sparseinfer
