// .npy reading and writing: round trips, files written by NumPy, and hostile
// or broken files that must give an Error instead of a crash or a huge
// allocation.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sparseinfer/error.h"
#include "sparseinfer/npy.h"
#include "sparseinfer/tensor.h"

namespace fs = std::filesystem;
using sparseinfer::DType;
using sparseinfer::Error;
using sparseinfer::read_npy;
using sparseinfer::Tensor;
using sparseinfer::write_npy;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "sparseinfer_npy_XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream out(path(name), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::string read_bytes(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Runs a Python snippet with numpy in the temp dir; false when the
  // interpreter or numpy is missing (the caller skips).
  bool have_numpy() const {
    return fs::exists(kPython) && std::system((std::string(kPython) + " -c 'import numpy' 2>/dev/null").c_str()) == 0;
  }
  int run_python(const std::string& code) const {
    std::string script = path("script.py");
    std::ofstream(script) << "import os, numpy as np\nos.chdir(" << '"' << dir_.string() << '"' << ")\n" << code;
    return std::system((std::string(kPython) + " " + script).c_str());
  }

  // Expects read_npy to throw an Error whose message names the file and contains `reason`.
  void expect_error(const std::string& name, const std::string& reason) const {
    try {
      read_npy(path(name));
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path(name)), std::string::npos) << msg;
      EXPECT_NE(msg.find(reason), std::string::npos) << "expected '" << reason << "' in: " << msg;
    }
  }

  fs::path dir_;
};

// A header of the given version around `dict`, padded to 64 bytes like NumPy does.
std::string npy_header(const std::string& dict, int major = 1) {
  std::string magic = "\x93NUMPY";
  magic.push_back(static_cast<char>(major));
  magic.push_back('\0');
  size_t len_bytes = major == 1 ? 2 : 4;
  std::string h = dict;
  size_t total = ((magic.size() + len_bytes + h.size() + 1 + 63) / 64) * 64;
  h.append(total - magic.size() - len_bytes - h.size() - 1, ' ');
  h.push_back('\n');
  std::string len;
  for (size_t i = 0; i < len_bytes; ++i) len.push_back(static_cast<char>((h.size() >> (8 * i)) & 0xff));
  return magic + len + h;
}

std::string f4_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

}  // namespace

TEST_F(NpyTest, RoundTripFloat32) {
  Tensor t(DType::Float32, {2, 3, 4});
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = 0.25f * static_cast<float>(i) - 3.0f;
  write_npy(path("a.npy"), t);
  Tensor r = read_npy(path("a.npy"));
  ASSERT_EQ(r.dtype(), DType::Float32);
  ASSERT_EQ(r.shape(), t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(r.f32()[i], t.f32()[i]);
  // Data starts on a 64-byte boundary as NumPy writes it.
  EXPECT_EQ((read_bytes("a.npy").size() - 24 * 4) % 64, 0u);
}

TEST_F(NpyTest, RoundTripInt64ScalarAndEmpty) {
  Tensor t = Tensor::from_i64({5}, {1, -2, 3, int64_t(1) << 40, -(int64_t(1) << 62)});
  write_npy(path("i.npy"), t);
  Tensor r = read_npy(path("i.npy"));
  ASSERT_EQ(r.dtype(), DType::Int64);
  ASSERT_EQ(r.shape(), t.shape());
  EXPECT_EQ(r.to_i64_vector(), t.to_i64_vector());

  write_npy(path("s.npy"), Tensor::scalar_f32(42.5f));
  Tensor s = read_npy(path("s.npy"));
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.f32()[0], 42.5f);

  write_npy(path("e.npy"), Tensor(DType::Float32, {0, 3}));
  Tensor e = read_npy(path("e.npy"));
  EXPECT_EQ(e.shape(), (sparseinfer::Shape{0, 3}));
}

TEST_F(NpyTest, ReadsHandMadeVersions) {
  std::vector<float> v = {1.0f, 2.0f, -3.5f, 4.0f};
  for (int major : {1, 2, 3}) {
    std::string name = "v" + std::to_string(major) + ".npy";
    write_bytes(name, npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", major) + f4_bytes(v));
    Tensor r = read_npy(path(name));
    EXPECT_EQ(r.shape(), (sparseinfer::Shape{2, 2}));
    EXPECT_EQ(r.to_f32_vector(), v);
  }
  // Keys in another order, double quotes, Python 2 longs: all valid Python literals.
  write_bytes("order.npy",
              npy_header("{\"shape\": (4L,), \"fortran_order\": False, \"descr\": \"<f4\"}") + f4_bytes(v));
  EXPECT_EQ(read_npy(path("order.npy")).shape(), (sparseinfer::Shape{4}));
}

TEST_F(NpyTest, ReadsFilesWrittenByNumpy) {
  if (!have_numpy()) GTEST_SKIP() << kPython << " with numpy is not available";
  ASSERT_EQ(run_python(R"(
from numpy.lib import format as F
a = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 5) / 4
np.save('f4.npy', a)
for v in [(1, 0), (2, 0), (3, 0)]:
    with open('f4_v%d.npy' % v[0], 'wb') as f:
        F.write_array(f, a, version=v)
np.save('f8.npy', a.astype(np.float64) / 3)
np.save('i8.npy', np.array([[-(2**62), 7], [0, 2**40]], dtype=np.int64))
np.save('i4.npy', np.array([-5, 0, 2**31 - 1], dtype=np.int32))
np.save('b1.npy', np.array([True, False, True]))
np.save('u1.npy', np.array([0, 200, 255], dtype=np.uint8))
np.save('scalar.npy', np.float32(3.5))
np.save('fortran.npy', np.asfortranarray(a))
np.save('big.npy', a.astype('>f4'))
np.save('f2.npy', a.astype(np.float16))
np.save('obj.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)
)"),
            0);
  auto expected_f4 = [](int64_t i) { return (static_cast<float>(i) - 5.0f) / 4.0f; };
  for (std::string name : {"f4.npy", "f4_v1.npy", "f4_v2.npy", "f4_v3.npy"}) {
    Tensor t = read_npy(path(name));
    ASSERT_EQ(t.dtype(), DType::Float32) << name;
    ASSERT_EQ(t.shape(), (sparseinfer::Shape{2, 3, 4})) << name;
    for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.f32()[i], expected_f4(i)) << name << " element " << i;
  }
  Tensor f8 = read_npy(path("f8.npy"));
  ASSERT_EQ(f8.dtype(), DType::Float32);
  // Rounded from the double, not computed in float.
  for (int64_t i = 0; i < f8.numel(); ++i)
    EXPECT_EQ(f8.f32()[i], static_cast<float>((static_cast<double>(i) - 5.0) / 4.0 / 3.0)) << i;

  Tensor i8 = read_npy(path("i8.npy"));
  ASSERT_EQ(i8.dtype(), DType::Int64);
  EXPECT_EQ(i8.shape(), (sparseinfer::Shape{2, 2}));
  EXPECT_EQ(i8.to_i64_vector(), (std::vector<int64_t>{-(int64_t(1) << 62), 7, 0, int64_t(1) << 40}));
  EXPECT_EQ(read_npy(path("i4.npy")).to_i64_vector(), (std::vector<int64_t>{-5, 0, 2147483647}));
  Tensor b1 = read_npy(path("b1.npy"));
  EXPECT_EQ(b1.dtype(), DType::Int64);
  EXPECT_EQ(b1.to_i64_vector(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(read_npy(path("u1.npy")).to_i64_vector(), (std::vector<int64_t>{0, 200, 255}));
  Tensor s = read_npy(path("scalar.npy"));
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.f32()[0], 3.5f);

  expect_error("fortran.npy", "Fortran");
  expect_error("big.npy", "big-endian");
  expect_error("f2.npy", "unsupported dtype '<f2'");
  expect_error("obj.npy", "unsupported dtype '|O'");
}

TEST_F(NpyTest, NumpyReadsWhatWeWrite) {
  if (!have_numpy()) GTEST_SKIP() << kPython << " with numpy is not available";
  Tensor f = Tensor::from_f32({1, 2, 3}, {0.5f, -1.0f, 2.0f, 1e-20f, 3e20f, -0.0f});
  write_npy(path("ours_f.npy"), f);
  write_npy(path("ours_i.npy"), Tensor::from_i64({3}, {-1, 0, int64_t(1) << 50}));
  write_npy(path("ours_s.npy"), Tensor::from_i64({}, {9}));
  EXPECT_EQ(run_python(R"(
a = np.load('ours_f.npy')
assert a.dtype == np.float32 and a.shape == (1, 2, 3), (a.dtype, a.shape)
assert (a.ravel() == np.array([0.5, -1.0, 2.0, 1e-20, 3e20, -0.0], dtype=np.float32)).all(), a
b = np.load('ours_i.npy')
assert b.dtype == np.int64 and b.shape == (3,) and b.tolist() == [-1, 0, 2**50], b
c = np.load('ours_s.npy')
assert c.shape == () and c.dtype == np.int64 and int(c) == 9, c
)"),
            0);
}

TEST_F(NpyTest, BrokenAndHostileFilesGiveErrors) {
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string good = npy_header(good_dict) + f4_bytes({1, 2, 3, 4});

  expect_error("missing.npy", "cannot open");
  write_bytes("empty.npy", "");
  expect_error("empty.npy", "too short");
  write_bytes("magic.npy", "PK\x03\x04 this is a zip file, not npy");
  expect_error("magic.npy", "magic");
  std::string v9 = good;
  v9[6] = 9;
  write_bytes("v9.npy", v9);
  expect_error("v9.npy", "version 9.0");

  // Truncated anywhere: inside the length, the header, the data.
  for (size_t cut : {size_t(9), size_t(30), good.size() - 1}) {
    std::string name = "cut" + std::to_string(cut) + ".npy";
    write_bytes(name, good.substr(0, cut));
    EXPECT_THROW(read_npy(path(name)), Error) << cut;
  }
  write_bytes("extra.npy", good + "junk");
  expect_error("extra.npy", "does not match the header");

  // Header length claiming far more than the file or the limit.
  std::string huge_len = npy_header(good_dict, 2);
  huge_len[8] = huge_len[9] = huge_len[10] = huge_len[11] = '\xff';
  write_bytes("hugelen.npy", huge_len + f4_bytes({1, 2, 3, 4}));
  expect_error("hugelen.npy", "exceeds the limit");

  auto bad_header = [&](const std::string& name, const std::string& dict, const std::string& reason) {
    write_bytes(name, npy_header(dict) + f4_bytes({1, 2, 3, 4}));
    expect_error(name, reason);
  };
  bad_header("negdim.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", "non-negative");
  bad_header("overflow.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }",
             "overflow");
  bad_header("toolarge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3037000499, 3037000499), }",
             "too large");
  bad_header("hugedim.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
             "too large");
  bad_header("big_but_valid.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
             "does not match");
  std::string many = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 40; ++i) many += "1, ";
  bad_header("rank.npy", many + "), }", "dimensions");
  bad_header("nokey.npy", "{'descr': '<f4', 'shape': (2, 2), }", "lacks");
  bad_header("unterminated.npy", "{'descr': '<f4", "unterminated");
  bad_header("nobrace.npy", "'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)", "expected '{'");
  bad_header("struct.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2), }", "structured");
  bad_header("fortran_bad.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }", "neither True");
  bad_header("trailing.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), } extra", "after");
  bad_header("key.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", "unexpected header key");
  std::string nul = npy_header(good_dict) + f4_bytes({1, 2, 3, 4});
  nul[20] = '\0';
  write_bytes("nul.npy", nul);
  expect_error("nul.npy", "NUL");
}

TEST_F(NpyTest, WriteErrors) {
  EXPECT_THROW(write_npy(path("d.npy"), Tensor::descriptor(DType::Float32, {2})), Error);
  EXPECT_THROW(write_npy(path("no/such/dir/x.npy"), Tensor::scalar_f32(1)), Error);
}
