#include "common/json_util.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tern {
namespace {

TEST(JsonUtilTest, ParseErrorNamesTheSourceAndPosition) {
  absl::StatusOr<nlohmann::json> value = ParseJson("{\"a\": 1,", "config.json");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(value.status().message(), "config.json: invalid JSON: "))
      << value.status().message();
}

TEST(JsonUtilTest, TypedGettersReportWrongTypesWithTheKey) {
  nlohmann::json j = nlohmann::json::parse(R"({"n": "seven", "f": 2.5, "i": 4096.0, "b": 1,
                                             "list": [1, "x"], "nil": null})");
  JsonObject object(j, "config.json");
  EXPECT_EQ(object.Int("n").status().message(),
            "config.json: 'n' must be an integer, got string");
  EXPECT_EQ(object.Int("f").status().message(), "config.json: 'f' must be an integer, got number");
  EXPECT_EQ(*object.Int("i"), 4096);
  EXPECT_EQ(object.BoolOr("b", false).status().message(),
            "config.json: 'b' must be true or false, got integer");
  EXPECT_EQ(object.IntListOr("list", {}).status().message(),
            "config.json: 'list' must be a list of integers");
  EXPECT_EQ(object.Int("missing").status().message(), "config.json: 'missing' is required");
}

TEST(JsonUtilTest, MissingAndNullFallBackToDefaults) {
  nlohmann::json j = nlohmann::json::parse(R"({"nil": null})");
  JsonObject object(j, "x");
  EXPECT_EQ(*object.IntOr("nil", 5), 5);
  EXPECT_EQ(*object.IntOr("absent", 6), 6);
  EXPECT_FALSE(object.OptionalInt("nil")->has_value());
  EXPECT_EQ(*object.StringOr("absent", "d"), "d");
  EXPECT_FALSE(object.Has("nil"));
}

TEST(JsonUtilTest, FromRejectsNonObjects) {
  nlohmann::json j = nlohmann::json::parse("[1, 2]");
  EXPECT_EQ(JsonObject::From(j, "x").status().message(), "x: expected a JSON object, got array");
}

}  // namespace
}  // namespace tern
