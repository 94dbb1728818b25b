#include "common/status_macros.h"

#include <memory>

#include "gtest/gtest.h"

namespace tern {
namespace {

absl::Status FailIfNegative(int x) {
  if (x < 0) return absl::InvalidArgumentError("negative");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeBox(int x) {
  RETURN_IF_ERROR(FailIfNegative(x));
  return std::make_unique<int>(x);
}

absl::StatusOr<int> Unbox(int x) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(x));
  return *box + 1;
}

absl::StatusOr<int> AssignTwice(int a, int b) {
  int total = 0;
  ASSIGN_OR_RETURN(int first, Unbox(a));
  ASSIGN_OR_RETURN(total, Unbox(b));
  return first + total;
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkAndReturnsError) {
  EXPECT_TRUE(MakeBox(3).ok());
  EXPECT_EQ(MakeBox(-1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeBox(-1).status().message(), "negative");
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  ASSERT_TRUE(Unbox(41).ok());
  EXPECT_EQ(*Unbox(41), 42);
  EXPECT_EQ(Unbox(-5).status().message(), "negative");
}

TEST(StatusMacrosTest, AssignOrReturnWorksTwiceInOneScopeAndIntoExistingVariables) {
  EXPECT_EQ(*AssignTwice(1, 2), 2 + 3);
  EXPECT_FALSE(AssignTwice(1, -2).ok());
}

TEST(StatusMacrosTest, CheckOkAbortsOnError) {
  EXPECT_DEATH(CHECK_OK(absl::InternalError("boom")), "boom");
}

}  // namespace
}  // namespace tern
