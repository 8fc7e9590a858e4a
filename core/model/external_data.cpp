#include "model/external_data.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "sparseinfer/error.h"

namespace sparseinfer {

namespace fs = std::filesystem;

namespace {

// A non-negative integer entry ('offset', 'length'); fails naming the key.
size_t parse_size(const std::string& value, const std::string& key, const std::string& what) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 18)
    throw Error(what + ": external data '" + key + "' is '" + value + "', not a non-negative integer");
  return static_cast<size_t>(std::stoll(value));
}

// True when `path` is `dir` or lies below it (both already canonical).
bool inside(const fs::path& path, const fs::path& dir) {
  auto p = path.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++p)
    if (p == path.end() || *p != *d) return false;
  return true;
}

}  // namespace

std::string read_external_data(const onnx::TensorProto& proto, const std::string& model_dir, size_t expected_bytes,
                               const std::string& what) {
  std::string location;
  size_t offset = 0, length = expected_bytes;
  bool has_length = false;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset")
      offset = parse_size(entry.value(), "offset", what);
    else if (entry.key() == "length") {
      length = parse_size(entry.value(), "length", what);
      has_length = true;
    }
    // 'checksum' is optional and not verified.
  }
  if (location.empty()) throw Error(what + " uses external data but gives no 'location'");
  if (model_dir.empty())
    throw Error(what + " uses external data file '" + location +
                "', which is read from the model's directory: load the model from its file, or re-export it with "
                "the weights embedded");
  if (fs::path(location).is_absolute())
    throw Error(what + ": external data file '" + location +
                "' is an absolute path; only files inside the model's directory are read");

  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(model_dir), ec);
  if (ec) throw Error(what + ": cannot resolve the model directory '" + model_dir + "': " + ec.message());
  const fs::path file = fs::weakly_canonical(dir / location, ec);
  if (ec) throw Error(what + ": cannot resolve external data file '" + location + "': " + ec.message());
  if (!inside(file, dir))
    throw Error(what + ": external data file '" + location + "' resolves to " + file.string() +
                ", outside the model's directory " + dir.string() + "; it is not read");
  if (!fs::is_regular_file(file, ec))
    throw Error(what + ": external data file '" + file.string() + "' does not exist or is not a regular file");
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) throw Error(what + ": cannot read the size of external data file '" + file.string() + "'");
  if (has_length && length != expected_bytes)
    throw Error(what + ": external data length " + std::to_string(length) + " does not match the " +
                std::to_string(expected_bytes) + " bytes its shape needs");
  if (offset > size || size - offset < expected_bytes)
    throw Error(what + ": external data file '" + file.string() + "' has " + std::to_string(size) +
                " bytes, too few for " + std::to_string(expected_bytes) + " bytes at offset " + std::to_string(offset));

  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(what + ": cannot open external data file '" + file.string() + "': " + std::strerror(errno));
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(expected_bytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(expected_bytes));
  if (static_cast<size_t>(in.gcount()) != expected_bytes)
    throw Error(what + ": could not read " + std::to_string(expected_bytes) + " bytes from external data file '" +
                file.string() + "'");
  return bytes;
}

}  // namespace sparseinfer
