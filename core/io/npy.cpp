// NumPy .npy reader and writer, from the format description in NumPy's
// numpy/lib/format.py docstring (NEP 1): magic, version, header length, a
// Python dict literal header padded to 64 bytes, then the raw array data.
#include "sparseinfer/npy.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// NumPy itself refuses headers over 10000 bytes by default; a little slack for
// hand-made files, but never enough to be a memory problem.
constexpr size_t kMaxHeaderBytes = 65536;
constexpr size_t kMaxRank = 32;

[[noreturn]] void npy_fail(const std::string& path, const std::string& reason) {
  throw Error(path + ": " + reason);
}

// The element types we accept and how they are stored in the file.
enum class FileType { F4, F8, I8, I4, U1, B1 };

struct Header {
  FileType type = FileType::F4;
  Shape shape;
};

size_t item_size(FileType t) {
  switch (t) {
    case FileType::F4:
      return 4;
    case FileType::F8:
      return 8;
    case FileType::I8:
      return 8;
    case FileType::I4:
      return 4;
    case FileType::U1:
      return 1;
    case FileType::B1:
      return 1;
  }
  return 1;
}

// Parses the header, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  Header parse() {
    Header header;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          fail("'descr' is not a simple type string (structured dtypes are not supported)");
        header.type = parse_descr(parse_string());
        have_descr = true;
      } else if (key == "fortran_order") {
        if (parse_bool()) fail("Fortran-order (column-major) arrays are not supported; save the array in C order");
        have_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      expect('}');
      break;
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected characters after the header dictionary");
    if (!have_descr || !have_order || !have_shape)
      fail("header lacks one of the keys 'descr', 'fortran_order', 'shape'");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const { npy_fail(path_, "bad .npy header: " + reason); }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }

  std::string parse_string() {
    char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string at offset " + std::to_string(pos_));
    ++pos_;
    size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  bool parse_bool() {
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' is neither True nor False");
  }

  int64_t parse_dim() {
    if (peek() < '0' || peek() > '9') fail("shape dimension is not a non-negative integer");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      int digit = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("shape dimension is too large");
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long suffix, seen in old files
    return v;
  }

  Shape parse_shape() {
    Shape shape;
    expect('(');
    skip_space();
    while (peek() != ')') {
      if (shape.size() >= kMaxRank) fail("more than " + std::to_string(kMaxRank) + " dimensions");
      shape.push_back(parse_dim());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
    ++pos_;
    return shape;
  }

  FileType parse_descr(const std::string& d) const {
    if (d == "<f4") return FileType::F4;
    if (d == "<f8") return FileType::F8;
    if (d == "<i8") return FileType::I8;
    if (d == "<i4") return FileType::I4;
    if (d == "|u1") return FileType::U1;
    if (d == "|b1") return FileType::B1;
    if (!d.empty() && d[0] == '>')
      npy_fail(path_, "big-endian data ('" + d + "') is not supported; save the array as little-endian");
    npy_fail(path_, "unsupported dtype '" + d + "' (supported: <f4, <i8, and <f8, <i4, |b1, |u1 converted)");
  }

  const std::string& path_;
  const std::string& text_;
  size_t pos_ = 0;
};

template <typename T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = reinterpret_cast<unsigned char*>(&v);
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  return v;
}

template <typename T>
void store_le(unsigned char* p, T v) {
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = reinterpret_cast<unsigned char*>(&v);
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  std::memcpy(p, &v, sizeof(T));
}

void convert(const Header& h, const unsigned char* src, size_t n, Tensor& out) {
  switch (h.type) {
    case FileType::F4:
      for (size_t i = 0; i < n; ++i) out.f32()[i] = load_le<float>(src + 4 * i);
      break;
    case FileType::F8:
      for (size_t i = 0; i < n; ++i) out.f32()[i] = static_cast<float>(load_le<double>(src + 8 * i));
      break;
    case FileType::I8:
      for (size_t i = 0; i < n; ++i) out.i64()[i] = load_le<int64_t>(src + 8 * i);
      break;
    case FileType::I4:
      for (size_t i = 0; i < n; ++i) out.i64()[i] = load_le<int32_t>(src + 4 * i);
      break;
    case FileType::U1:
      for (size_t i = 0; i < n; ++i) out.i64()[i] = src[i];
      break;
    case FileType::B1:
      for (size_t i = 0; i < n; ++i) out.i64()[i] = src[i] != 0 ? 1 : 0;
      break;
  }
}

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) npy_fail(path, "cannot open file for reading");
  in.seekg(0, std::ios::end);
  std::streamoff end = in.tellg();
  in.seekg(0, std::ios::beg);
  if (end < 0 || !in) npy_fail(path, "cannot determine the file size (not a regular file?)");
  const uint64_t file_size = static_cast<uint64_t>(end);

  unsigned char prefix[12];
  if (file_size < 10 || !in.read(reinterpret_cast<char*>(prefix), 8))
    npy_fail(path, "file is too short to be a .npy file");
  if (std::memcmp(prefix, kMagic, kMagicLen) != 0) npy_fail(path, "not a .npy file (magic string missing)");
  const int major = prefix[6], minor = prefix[7];
  size_t len_bytes = 0;
  if (major == 1 && minor == 0)
    len_bytes = 2;
  else if ((major == 2 || major == 3) && minor == 0)
    len_bytes = 4;
  else
    npy_fail(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  if (!in.read(reinterpret_cast<char*>(prefix + 8), static_cast<std::streamsize>(len_bytes)))
    npy_fail(path, "file ends inside the header length");
  const uint64_t header_len =
      len_bytes == 2 ? load_le<uint16_t>(prefix + 8) : static_cast<uint64_t>(load_le<uint32_t>(prefix + 8));
  if (header_len > kMaxHeaderBytes)
    npy_fail(path, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                       std::to_string(kMaxHeaderBytes) + " bytes");
  const uint64_t data_offset = 8 + len_bytes + header_len;
  if (data_offset > file_size) npy_fail(path, "file ends inside the header (truncated file)");

  std::string header_text(static_cast<size_t>(header_len), '\0');
  if (!in.read(header_text.data(), static_cast<std::streamsize>(header_len))) npy_fail(path, "cannot read the header");
  if (header_text.find('\0') != std::string::npos) npy_fail(path, "bad .npy header: contains a NUL byte");
  Header h = HeaderParser(path, header_text).parse();

  // Element count and byte size with overflow checks before anything is allocated.
  const uint64_t item = item_size(h.type);
  uint64_t count = 1;
  for (int64_t d : h.shape) {
    uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && count > std::numeric_limits<uint64_t>::max() / ud) npy_fail(path, "element count overflows");
    count *= ud;
  }
  if (count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / item)
    npy_fail(path, "element count " + std::to_string(count) + " is too large");
  const uint64_t data_bytes = count * item;
  if (file_size - data_offset != data_bytes)
    npy_fail(path, "file size " + std::to_string(file_size) + " does not match the header (shape " +
                       shape_str(h.shape) + " needs " + std::to_string(data_bytes) + " data bytes after " +
                       std::to_string(data_offset) + " header bytes)");

  std::vector<unsigned char> raw(static_cast<size_t>(data_bytes));
  if (data_bytes > 0 && !in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(data_bytes)))
    npy_fail(path, "cannot read the array data");

  const bool is_float = h.type == FileType::F4 || h.type == FileType::F8;
  Tensor t(is_float ? DType::Float32 : DType::Int64, h.shape);
  convert(h, raw.data(), static_cast<size_t>(count), t);
  return t;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  if (!tensor.has_data()) npy_fail(path, "cannot write a tensor without data");
  const bool f32 = tensor.dtype() == DType::Float32;

  std::ostringstream dict;
  dict << "{'descr': '" << (f32 ? "<f4" : "<i8") << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < tensor.shape().size(); ++i) dict << (i ? ", " : "") << tensor.shape()[i];
  if (tensor.shape().size() == 1) dict << ",";
  dict << "), }";
  std::string header = dict.str();

  // Version 1.0 unless the header needs more than 16 bits of length.
  size_t len_bytes = header.size() + 1 + 10 + 63 <= 0xffff ? 2 : 4;
  size_t prefix = 8 + len_bytes;
  size_t total = ((prefix + header.size() + 1 + 63) / 64) * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  std::vector<unsigned char> bytes(total);
  std::memcpy(bytes.data(), kMagic, kMagicLen);
  bytes[6] = len_bytes == 2 ? 1 : 2;
  bytes[7] = 0;
  if (len_bytes == 2)
    store_le<uint16_t>(bytes.data() + 8, static_cast<uint16_t>(header.size()));
  else
    store_le<uint32_t>(bytes.data() + 8, static_cast<uint32_t>(header.size()));
  std::memcpy(bytes.data() + prefix, header.data(), header.size());

  const size_t n = static_cast<size_t>(tensor.numel());
  const size_t item = f32 ? 4 : 8;
  bytes.resize(total + n * item);
  unsigned char* data = bytes.data() + total;
  if (f32)
    for (size_t i = 0; i < n; ++i) store_le<float>(data + 4 * i, tensor.f32()[i]);
  else
    for (size_t i = 0; i < n; ++i) store_le<int64_t>(data + 8 * i, tensor.i64()[i]);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) npy_fail(path, "cannot open file for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) npy_fail(path, "write failed (disk full?)");
}

}  // namespace sparseinfer
