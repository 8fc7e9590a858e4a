#include "model/file_bytes.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "sparseinfer/error.h"

namespace sparseinfer {

namespace fs = std::filesystem;

std::string read_file_bytes(const std::string& path, size_t max_bytes) {
  auto fail = [&](const std::string& reason) { throw ModelError(path, "", "", reason); };
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail("file not found");
  if (!fs::is_regular_file(status)) fail("not a regular file");
  uintmax_t size = fs::file_size(path, ec);
  if (ec) fail("cannot read the file size: " + ec.message());
  if (size == 0) fail("file is empty");
  // Protobuf cannot parse a message of 2 GiB or more, whatever the limit says.
  uintmax_t limit = std::min<uintmax_t>(max_bytes, INT_MAX);
  if (size > limit)
    fail("file is " + std::to_string(size) + " bytes, larger than the limit of " + std::to_string(limit) + " bytes");

  std::ifstream in(path, std::ios::binary);
  if (!in) fail(std::string("cannot open the file: ") + std::strerror(errno));
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) fail("could not read the whole file (it changed while reading?)");
  return bytes;
}

}  // namespace sparseinfer
