#include "common/flags.h"

#include "gtest/gtest.h"

namespace tern {
namespace {

TEST(FlagsTest, DashedNamesBecomeUnderscoredAndValuesStay) {
  EXPECT_EQ(NormalizeFlagNames({"prog", "--max-num-seqs=4", "--load-format", "dummy-x",
                                "-block-size=16", "positional-arg"}),
            (std::vector<std::string>{"prog", "--max_num_seqs=4", "--load_format", "dummy-x",
                                      "-block_size=16", "positional-arg"}));
}

TEST(FlagsTest, BoolFlagsTakeASeparateTrueOrFalse) {
  auto is_bool = [](const std::string& name) { return name == "enable_prefix_caching"; };
  EXPECT_EQ(NormalizeFlagNames({"prog", "--enable-prefix-caching", "false", "--max-num-seqs", "4"}, is_bool),
            (std::vector<std::string>{"prog", "--enable_prefix_caching=false", "--max_num_seqs", "4"}));
  // A bool flag followed by something else keeps its meaning (true).
  EXPECT_EQ(NormalizeFlagNames({"prog", "--enable-prefix-caching", "--x"}, is_bool),
            (std::vector<std::string>{"prog", "--enable_prefix_caching", "--x"}));
}

TEST(FlagsTest, ArgumentsAfterDoubleDashAreUntouched) {
  EXPECT_EQ(NormalizeFlagNames({"prog", "--a-b", "--", "--c-d"}),
            (std::vector<std::string>{"prog", "--a_b", "--", "--c-d"}));
}

TEST(FlagsTest, ValueAfterEqualsKeepsDashes) {
  EXPECT_EQ(NormalizeFlagNames({"prog", "--model=/tmp/my-model"}),
            (std::vector<std::string>{"prog", "--model=/tmp/my-model"}));
}

}  // namespace
}  // namespace tern
