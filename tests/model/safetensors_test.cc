#include "engine_svc/model/safetensors.h"

#include <cstring>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testing/safetensors_builder.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::JoinSafetensors;
using ::tern::testing::SafetensorsBuilder;
using ::tern::testing::ScratchDir;

class SafetensorsTest : public ::testing::Test {
 protected:
  // Writes `contents` as a file and opens it.
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> OpenBytes(const std::string& contents) {
    dir_.WriteFile("w.safetensors", contents);
    return SafetensorsFile::Open(path());
  }
  std::string path() const { return dir_.Join("w.safetensors"); }
  // The error of opening `contents`, which must fail.
  std::string ErrorOf(const std::string& contents) {
    auto file = OpenBytes(contents);
    EXPECT_FALSE(file.ok());
    if (file.ok()) return "";
    const std::string message(file.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << "error must be one line";
    EXPECT_TRUE(absl::StartsWith(message, path() + ": ")) << message;
    return message.substr(path().size() + 2);
  }

  ScratchDir dir_;
};

TEST_F(SafetensorsTest, ReadsTensorsOfEveryWeightDtype) {
  SafetensorsBuilder builder;
  builder.AddF32("a", {2, 2}, {1, 2, 3, 4});
  builder.AddBF16("b", {3}, {0.5f, -1.0f, 2.0f});
  builder.AddRaw("c", "F16", {1}, std::string("\x00\x3c", 2));  // 1.0 in binary16
  builder.header()["__metadata__"] = {{"format", "pt"}};
  auto file = OpenBytes(builder.Build());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->entries().size(), 3u);

  auto a = (*file)->Get("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->dtype, DType::kFloat32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 2}));
  float values[4];
  std::memcpy(values, a->data, 16);
  EXPECT_EQ(values[3], 4.0f);

  auto b = (*file)->Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype, DType::kBFloat16);
  uint16_t bits;
  std::memcpy(&bits, static_cast<const char*>(b->data) + 2, 2);
  EXPECT_EQ(BFloat16ToFloat(bits), -1.0f);

  auto c = (*file)->Get("c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->dtype, DType::kFloat16);
}

TEST_F(SafetensorsTest, MissingTensorIsNotFound) {
  SafetensorsBuilder builder;
  builder.AddF32("a", {1}, {1});
  auto file = OpenBytes(builder.Build());
  ASSERT_TRUE(file.ok());
  auto missing = (*file)->Get("b");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), path() + ": missing tensor 'b'");
}

TEST_F(SafetensorsTest, IntegerTensorsOpenButCannotBeWeights) {
  SafetensorsBuilder builder;
  builder.AddRaw("steps", "I64", {1}, std::string(8, '\0'));
  auto file = OpenBytes(builder.Build());
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Get("steps").status().message(),
            path() + ": tensor 'steps' has dtype I64; weights must be BF16, F16 or F32");
}

TEST_F(SafetensorsTest, ZeroSizedTensorsAreAllowed) {
  SafetensorsBuilder builder;
  builder.AddF32("empty", {0, 4}, {});
  builder.AddF32("a", {1}, {1});
  ASSERT_TRUE(OpenBytes(builder.Build()).ok());
}

TEST_F(SafetensorsTest, RejectsFilesTooShortForAHeader) {
  EXPECT_EQ(ErrorOf("abc"), "file is 3 bytes, too short for a safetensors header");
}

TEST_F(SafetensorsTest, RejectsHeaderLengthPastEndOfFile) {
  std::string bytes = JoinSafetensors(nlohmann::json::object(), "");
  bytes[0] = '\xff';
  bytes[1] = '\xff';
  EXPECT_EQ(ErrorOf(bytes), "header length 65535 runs past the end of the file (10 bytes)");
  EXPECT_EQ(ErrorOf(std::string(8, '\xff')),
            "header length 18446744073709551615 runs past the end of the file (8 bytes)");
}

TEST_F(SafetensorsTest, RejectsInvalidHeaderJson) {
  std::string bytes = "{\"a\": [1, 2";
  std::string file(8, '\0');
  file[0] = static_cast<char>(bytes.size());
  EXPECT_TRUE(absl::StartsWith(ErrorOf(file + bytes), "header: invalid JSON: "));
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  SafetensorsBuilder builder;
  builder.AddRaw("w", "Q7", {2}, std::string(2, '\0'));
  EXPECT_EQ(ErrorOf(builder.Build()), "tensor 'w' has unknown dtype 'Q7'");
}

TEST_F(SafetensorsTest, RejectsOffsetsPastTheData) {
  SafetensorsBuilder builder;
  builder.AddF32("w", {2}, {1, 2});
  builder.header()["w"]["data_offsets"] = {4, 12};
  EXPECT_EQ(ErrorOf(builder.Build()),
            "tensor 'w' has data_offsets [4, 12] past the end of the data (8 bytes)");
}

TEST_F(SafetensorsTest, RejectsOffsetsThatEndBeforeTheyBegin) {
  SafetensorsBuilder builder;
  builder.AddF32("w", {2}, {1, 2});
  builder.header()["w"]["data_offsets"] = {8, 0};
  EXPECT_EQ(ErrorOf(builder.Build()), "tensor 'w' has data_offsets [8, 0] that end before they begin");
}

TEST_F(SafetensorsTest, RejectsShapeThatDisagreesWithItsByteSpan) {
  SafetensorsBuilder builder;
  builder.AddF32("w", {2}, {1, 2});
  builder.header()["w"]["shape"] = {3};
  EXPECT_EQ(ErrorOf(builder.Build()),
            "tensor 'w' has shape [3] of F32 (12 bytes) but its data_offsets span 8 bytes");
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  SafetensorsBuilder builder;
  builder.AddF32("a", {2}, {1, 2});
  builder.AddF32("b", {2}, {3, 4});
  builder.header()["b"]["data_offsets"] = {4, 12};
  builder.header()["b"]["shape"] = {2};
  EXPECT_EQ(ErrorOf(builder.Build() + std::string(4, '\0')), "tensors 'a' and 'b' overlap");
}

TEST_F(SafetensorsTest, RejectsMalformedEntries) {
  auto with_entry = [](const nlohmann::json& entry) {
    nlohmann::json header = {{"w", entry}};
    return JoinSafetensors(header, std::string(8, '\0'));
  };
  EXPECT_EQ(ErrorOf(with_entry(5)), "tensor 'w' is not a JSON object");
  EXPECT_EQ(ErrorOf(with_entry({{"shape", {2}}, {"data_offsets", {0, 8}}})), "tensor 'w' has no dtype");
  EXPECT_EQ(ErrorOf(with_entry({{"dtype", "F32"}, {"shape", {-2}}, {"data_offsets", {0, 8}}})),
            "tensor 'w' has a shape entry that is not a non-negative integer");
  EXPECT_EQ(ErrorOf(with_entry({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0}}})),
            "tensor 'w' has no valid data_offsets [begin, end]");
  EXPECT_EQ(ErrorOf(with_entry({{"dtype", "F32"},
                                {"shape", {int64_t{1} << 40, int64_t{1} << 40}},
                                {"data_offsets", {0, 8}}})),
            "tensor 'w' has an implausibly large shape");
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto file = SafetensorsFile::Open(dir_.Join("absent.safetensors"));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(file.status().message(), dir_.Join("absent.safetensors") + ": no such file");
}

}  // namespace
}  // namespace tern
