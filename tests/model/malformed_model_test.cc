// Every way a model directory can be broken gets a one-line error that names
// the file and the problem, from the same entry point the tools use.
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "engine_svc/executor/model_runner.h"
#include "gtest/gtest.h"
#include "tests/testing/safetensors_builder.h"
#include "tests/testing/test_data.h"

namespace tern {
namespace {

using ::tern::testing::JoinSafetensors;
using ::tern::testing::ScratchDir;
using ::tern::testing::SplitSafetensors;

class MalformedModelTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_.CopyFrom(testing::TestDataPath("models/llama3")); }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_.Join(name), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }
  // Edits the weights file's header (and optionally its data) in place.
  void EditWeights(const std::function<void(nlohmann::json&, std::string&)>& edit) {
    nlohmann::json header;
    std::string data;
    SplitSafetensors(Read("model.safetensors"), &header, &data);
    edit(header, data);
    dir_.WriteFile("model.safetensors", JoinSafetensors(header, data));
  }
  void EditConfig(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json config = nlohmann::json::parse(Read("config.json"));
    edit(config);
    dir_.WriteFile("config.json", config.dump());
  }
  // The load error, checked to be a single line.
  std::string LoadError() {
    ModelRunnerConfig config;
    config.model_dir = dir_.path();
    config.num_kv_blocks = 4;
    absl::StatusOr<std::unique_ptr<ModelRunner>> runner = ModelRunner::Create(config);
    EXPECT_FALSE(runner.ok()) << "model loaded although it is broken";
    if (runner.ok()) return "";
    std::string message(runner.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  std::string Path(const std::string& name) { return dir_.Join(name); }

  ScratchDir dir_;
};

TEST_F(MalformedModelTest, TheUnmodifiedCopyLoads) {
  ModelRunnerConfig config;
  config.model_dir = dir_.path();
  config.num_kv_blocks = 4;
  EXPECT_TRUE(ModelRunner::Create(config).ok());
}

TEST_F(MalformedModelTest, MissingConfig) {
  ::unlink(Path("config.json").c_str());
  EXPECT_EQ(LoadError(), Path("config.json") + ": no such file");
}

TEST_F(MalformedModelTest, MissingWeights) {
  ::unlink(Path("model.safetensors").c_str());
  EXPECT_EQ(LoadError(),
            dir_.path() +
                ": no weights (model.safetensors, model.safetensors.index.json or *.safetensors)");
}

TEST_F(MalformedModelTest, TruncatedWeights) {
  const std::string bytes = Read("model.safetensors");
  dir_.WriteFile("model.safetensors", bytes.substr(0, bytes.size() / 2));
  const std::string error = LoadError();
  EXPECT_TRUE(absl::StartsWith(error, Path("model.safetensors") + ": tensor '")) << error;
  EXPECT_TRUE(absl::StrContains(error, "past the end of the data")) << error;
}

TEST_F(MalformedModelTest, TruncatedInsideTheHeader) {
  dir_.WriteFile("model.safetensors", Read("model.safetensors").substr(0, 100));
  EXPECT_TRUE(absl::StartsWith(LoadError(), Path("model.safetensors") + ": header length "));
}

TEST_F(MalformedModelTest, HeaderLengthPastEndOfFile) {
  std::string bytes = Read("model.safetensors");
  bytes[5] = '\x01';  // Header length += 2^40.
  dir_.WriteFile("model.safetensors", bytes);
  EXPECT_TRUE(absl::StrContains(LoadError(), "runs past the end of the file"));
}

TEST_F(MalformedModelTest, OverlappingOffsets) {
  EditWeights([](nlohmann::json& header, std::string&) {
    header["model.norm.weight"]["data_offsets"] = header["lm_head.weight"]["data_offsets"][0];
    const uint64_t begin = header["lm_head.weight"]["data_offsets"][0];
    header["model.norm.weight"]["data_offsets"] = {begin, begin + 128};
  });
  EXPECT_EQ(LoadError(), Path("model.safetensors") +
                             ": tensors 'lm_head.weight' and 'model.norm.weight' overlap");
}

TEST_F(MalformedModelTest, OutOfRangeOffsets) {
  EditWeights([](nlohmann::json& header, std::string& data) {
    header["model.norm.weight"]["data_offsets"] = {data.size(), data.size() + 128};
  });
  EXPECT_TRUE(absl::StrContains(LoadError(), "tensor 'model.norm.weight' has data_offsets"));
}

TEST_F(MalformedModelTest, UnknownDtype) {
  EditWeights([](nlohmann::json& header, std::string&) {
    header["model.norm.weight"]["dtype"] = "BF17";
  });
  EXPECT_EQ(LoadError(),
            Path("model.safetensors") + ": tensor 'model.norm.weight' has unknown dtype 'BF17'");
}

TEST_F(MalformedModelTest, IntegerDtypeForAWeight) {
  EditWeights([](nlohmann::json& header, std::string&) {
    header["model.norm.weight"]["dtype"] = "I16";
  });
  EXPECT_EQ(LoadError(), Path("model.safetensors") +
                             ": tensor 'model.norm.weight' has dtype I16; weights must be BF16, "
                             "F16 or F32");
}

TEST_F(MalformedModelTest, MissingTensor) {
  EditWeights([](nlohmann::json& header, std::string&) {
    header.erase("model.layers.1.self_attn.k_proj.weight");
  });
  EXPECT_EQ(LoadError(), Path("model.safetensors") +
                             ": missing tensor 'model.layers.1.self_attn.k_proj.weight'");
}

TEST_F(MalformedModelTest, ShapeThatDisagreesWithTheConfig) {
  EditConfig([](nlohmann::json& config) { config["intermediate_size"] = 128; });
  EXPECT_EQ(LoadError(), Path("model.safetensors") +
                             ": tensor 'model.layers.0.mlp.gate_proj.weight' has shape [160, 64] "
                             "but the config implies [128, 64]");
}

TEST_F(MalformedModelTest, UnsupportedArchitecture) {
  EditConfig([](nlohmann::json& config) { config["architectures"] = {"BertModel"}; });
  EXPECT_TRUE(absl::StartsWith(LoadError(), Path("config.json") +
                                                ": unsupported architecture 'BertModel'; "
                                                "supported: LlamaForCausalLM,"));
}

TEST_F(MalformedModelTest, ConfigThatIsNotJson) {
  dir_.WriteFile("config.json", "{\"architectures\": [\"LlamaForCausalLM\"");
  EXPECT_TRUE(absl::StartsWith(LoadError(), Path("config.json") + ": invalid JSON: "));
}

TEST_F(MalformedModelTest, WeightsFileThatIsADirectory) {
  ::unlink(Path("model.safetensors").c_str());
  ::mkdir(Path("model.safetensors").c_str(), 0700);
  const std::string error = LoadError();
  ::rmdir(Path("model.safetensors").c_str());
  EXPECT_TRUE(absl::StartsWith(error, dir_.path())) << error;
}

}  // namespace
}  // namespace tern
