#include "client_svc/chat/value.h"

#include <string>

#include "client_svc/chat/json.h"
#include "gtest/gtest.h"

namespace tern::jinja {
namespace {

TEST(ValueTest, FloatsPrintLikePythonRepr) {
  EXPECT_EQ(FloatRepr(0.1), "0.1");
  EXPECT_EQ(FloatRepr(1.0), "1.0");
  EXPECT_EQ(FloatRepr(-0.0), "-0.0");
  EXPECT_EQ(FloatRepr(123.456), "123.456");
  EXPECT_EQ(FloatRepr(0.0001), "0.0001");
  EXPECT_EQ(FloatRepr(0.00001), "1e-05");
  EXPECT_EQ(FloatRepr(1.5e-5), "1.5e-05");
  EXPECT_EQ(FloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(FloatRepr(1e16), "1e+16");
  EXPECT_EQ(FloatRepr(1.2345678901234567e22), "1.2345678901234568e+22");
  EXPECT_EQ(FloatRepr(5e-324), "5e-324");
  EXPECT_EQ(FloatRepr(1.0 / 0.0), "inf");
}

TEST(ValueTest, StringsReprLikePython) {
  EXPECT_EQ(StringRepr("abc"), "'abc'");
  EXPECT_EQ(StringRepr("it's"), "\"it's\"");
  EXPECT_EQ(StringRepr("both ' and \""), "'both \\' and \"'");
  EXPECT_EQ(StringRepr("tab\there\n\x01"), "'tab\\there\\n\\x01'");
  EXPECT_EQ(StringRepr("\xC3\xA9\xE2\x80\x8B"), "'\xC3\xA9\\u200b'");
}

TEST(ValueTest, EqualityAndOrderFollowPython) {
  EXPECT_TRUE(ValuesEqual(Value(1), Value(1.0)));
  EXPECT_TRUE(ValuesEqual(Value(true), Value(1)));
  EXPECT_FALSE(ValuesEqual(Value("1"), Value(1)));
  EXPECT_FALSE(ValuesEqual(Value::MakeList({Value(1)}), Value::MakeList({Value(1)}, /*is_tuple=*/true)));
  EXPECT_TRUE(ValuesEqual(Value::MakeUndefined("a"), Value::MakeUndefined("b")));
  EXPECT_TRUE(*ValueLess(Value("Z"), Value("a")));
  EXPECT_TRUE(*ValueLess(Value::MakeList({Value(1), Value(2)}), Value::MakeList({Value(1), Value(3)})));
  EXPECT_FALSE(ValueLess(Value("a"), Value(1)).ok());
}

TEST(ValueTest, TruthinessFollowsPython) {
  EXPECT_FALSE(Value().Truthy());
  EXPECT_FALSE(Value::MakeNone().Truthy());
  EXPECT_FALSE(Value(0.0).Truthy());
  EXPECT_FALSE(Value("").Truthy());
  EXPECT_FALSE(Value::MakeList({}).Truthy());
  EXPECT_TRUE(Value(" ").Truthy());
  EXPECT_TRUE(Value(-1).Truthy());
}

TEST(ValueTest, JsonRoundTripKeepsKeyOrderAndWritesPythonsLayout) {
  const auto json = nlohmann::ordered_json::parse(R"({"z": [1, 2.5, "x", null, true], "a": {}})");
  const Value value = *FromJson(json);
  EXPECT_EQ(value.Str(), "{'z': [1, 2.5, 'x', None, True], 'a': {}}");
  EXPECT_EQ(*JsonDumps(value, {}), R"({"z": [1, 2.5, "x", null, true], "a": {}})");
  JsonDumpsOptions compact;
  compact.item_separator = ",";
  compact.key_separator = ":";
  compact.sort_keys = true;
  EXPECT_EQ(*JsonDumps(value, compact), R"({"a":{},"z":[1,2.5,"x",null,true]})");
  EXPECT_FALSE(JsonDumps(Value::MakeUndefined("x"), {}).ok());
}

TEST(ValueTest, DeepJsonIsRejected) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(FromJson(nlohmann::ordered_json::parse(deep)).ok());
}

}  // namespace
}  // namespace tern::jinja
