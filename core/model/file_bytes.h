// Reading a whole model or tensor file into memory with the checks a user
// needs to hear about (missing, not a file, empty, too large).
#pragma once

#include <cstddef>
#include <string>

namespace sparseinfer {

// Returns the file's bytes; throws ModelError(path, "", "", reason).
std::string read_file_bytes(const std::string& path, size_t max_bytes);

}  // namespace sparseinfer
