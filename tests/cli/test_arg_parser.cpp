// The tools library's command-line parser and value parsers, which every
// sparseinfer program (the CLI, the benchmarks, the evaluation runner) uses.
#include <gtest/gtest.h>

#include "tools/arg_parser.h"
#include "tools/arg_values.h"

using namespace sparseinfer;
using tools::parse_args;
using tools::UsageError;

namespace {

const std::vector<tools::OptionSpec> kSpecs = {{"size", true}, {"input", true, true}, {"json", false}};

// The message of the UsageError that `fn` throws, or "" when it throws none.
template <typename Fn>
std::string usage_error(Fn&& fn) {
  try {
    fn();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ArgParser, ValueFormsRepeatsAndPositionals) {
  auto args = parse_args("run", {"m.onnx", "--size", "8x4", "--input=a.npy", "--json", "--input", "b.npy"}, kSpecs);
  EXPECT_EQ(args.positional, std::vector<std::string>{"m.onnx"});
  EXPECT_EQ(args.value("size"), "8x4");
  EXPECT_EQ(args.values("input"), (std::vector<std::string>{"a.npy", "b.npy"}));
  EXPECT_TRUE(args.has("json"));
  EXPECT_FALSE(args.has("help"));
  EXPECT_EQ(args.value("missing", "default"), "default");
}

TEST(ArgParser, DoubleDashEndsOptionsAndHelpIsAlwaysKnown) {
  auto args = parse_args("", {"-h", "--", "--size", "-"}, kSpecs);
  EXPECT_TRUE(args.has("help"));
  EXPECT_EQ(args.positional, (std::vector<std::string>{"--size", "-"}));
  EXPECT_FALSE(args.has("size"));
}

TEST(ArgParser, MistakesNameTheOptionAndTheCommand) {
  EXPECT_EQ(usage_error([] { parse_args("info", {"--bogus"}, kSpecs); }), "unknown option '--bogus' for 'info'");
  EXPECT_EQ(usage_error([] { parse_args("", {"--bogus=1"}, kSpecs); }), "unknown option '--bogus'");
  EXPECT_EQ(usage_error([] { parse_args("", {"-x"}, kSpecs); }), "unknown option '-x'");
  EXPECT_EQ(usage_error([] { parse_args("", {"--size"}, kSpecs); }), "option '--size' needs a value");
  EXPECT_EQ(usage_error([] { parse_args("", {"--json=1"}, kSpecs); }), "option '--json' takes no value");
  EXPECT_EQ(usage_error([] {
              parse_args("", {"--size=1x1", "--size", "2x2"}, kSpecs);
            }),
            "option '--size' given more than once");
}

TEST(ArgValues, IntegersAreWholeAndInRange) {
  EXPECT_EQ(tools::parse_int("-3", "--n"), -3);
  EXPECT_EQ(tools::parse_int("7", "--n", 1, 7), 7);
  EXPECT_EQ(usage_error([] { tools::parse_int("3x", "--n"); }), "--n: '3x' is not an integer");
  EXPECT_EQ(usage_error([] { tools::parse_int("", "--n"); }), "--n: '' is not an integer");
  EXPECT_EQ(usage_error([] { tools::parse_int("0", "--n", 1, 9); }), "--n: 0 is out of range [1, 9]");
}

TEST(ArgValues, NumbersAreWhole) {
  EXPECT_DOUBLE_EQ(tools::parse_double("1e-3", "--x"), 1e-3);
  EXPECT_EQ(tools::parse_float("0.1", "--x"), 0.1f);
  EXPECT_EQ(usage_error([] { tools::parse_double("0.5abc", "--x"); }), "--x: '0.5abc' is not a number");
  EXPECT_EQ(usage_error([] { tools::parse_float("", "--x"); }), "--x: '' is not a number");
}

TEST(ArgValues, SizesShapesAndLists) {
  EXPECT_EQ(tools::parse_size("640x480", "--size"), (std::pair<int64_t, int64_t>{640, 480}));
  EXPECT_EQ(tools::parse_size("8X4", "--size"), (std::pair<int64_t, int64_t>{8, 4}));
  EXPECT_NE(usage_error([] { tools::parse_size("640", "--size"); }).find("WxH"), std::string::npos);
  EXPECT_EQ(tools::parse_shape("1,3,224,224", "--input-shape"), (Shape{1, 3, 224, 224}));
  EXPECT_NE(usage_error([] { tools::parse_shape("1,,3", "--input-shape"); }), "");
  EXPECT_EQ(tools::split_list("dense,,change,"), (std::vector<std::string>{"dense", "change"}));
  EXPECT_TRUE(tools::split_list("").empty());
}
