// The gateway's router client against an in-process fake router and fake
// engines (real gRPC on loopback): the keys it sends, how it resolves the
// router's answers to the pool's engines, and each fallback reason.
#include "client_svc/gateway/router_client.h"

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/block_hash.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {
namespace {

constexpr int kBlockSize = 4;

// Answers GetInfo; its health is set on the server's default health service.
class FakeEngine final : public v1::EngineCore::Service {
 public:
  explicit FakeEngine(uint32_t block_size) : block_size_(block_size) {}
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*, v1::EngineInfo* info) override {
    info->set_model("m");
    info->set_vocab_size(1000);
    info->set_max_model_len(4096);
    info->set_block_size(block_size_);
    return grpc::Status::OK;
  }

 private:
  uint32_t block_size_;
};

// Answers Route with whatever the test scripted; keeps the last request.
class FakeRouter final : public v1::Router::Service {
 public:
  grpc::Status Route(grpc::ServerContext*, const v1::RouteRequest* request, v1::RouteResponse* response) override {
    std::function<grpc::Status(v1::RouteResponse*)> answer;
    {
      absl::MutexLock lock(&mu_);
      last_ = *request;
      answer = answer_;
    }
    return answer(response);
  }
  void Answer(std::function<grpc::Status(v1::RouteResponse*)> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  void AnswerAddress(const std::string& address) {
    Answer([address](v1::RouteResponse* r) {
      r->set_engine_address(address);
      return grpc::Status::OK;
    });
  }
  v1::RouteRequest last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

 private:
  absl::Mutex mu_;
  std::function<grpc::Status(v1::RouteResponse*)> answer_;
  v1::RouteRequest last_;
};

std::unique_ptr<grpc::Server> Serve(grpc::Service* service, std::string* address) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  *address = absl::StrCat("127.0.0.1:", port);
  return server;
}

// A port nothing listens on (bound, then closed).
std::string ClosedAddress() {
  FakeRouter unused;
  std::string address;
  std::unique_ptr<grpc::Server> server = Serve(&unused, &address);
  server->Shutdown();
  return address;
}

v1::GenerateRequest Request(int num_tokens, const std::string& salt = "") {
  v1::GenerateRequest request;
  request.set_request_id("r-0");
  for (int i = 0; i < num_tokens; ++i) request.add_prompt_token_ids(100 + i);
  request.mutable_sampling()->set_max_tokens(7);
  request.set_cache_salt(salt);
  return request;
}

std::vector<std::string> KeyBytes(const std::vector<int32_t>& tokens, int64_t block_size, const std::string& salt) {
  BlockExtraKeys extra;
  extra.cache_salt = salt;
  std::vector<std::string> keys;
  for (const BlockKey& key : ComputeBlockKeys(tokens, block_size, extra)) keys.emplace_back(key.AsBytes());
  return keys;
}

class RouterClientTest : public ::testing::Test {
 protected:
  // Two fake engines (the first serving, the second not) and a fake router.
  void SetUp() override {
    engine_server_ = Serve(&engine_, &serving_address_);
    engine_server_->GetHealthCheckService()->SetServingStatus(v1::EngineCore::service_full_name(), true);
    idle_server_ = Serve(&idle_engine_, &idle_address_);
    idle_server_->GetHealthCheckService()->SetServingStatus(v1::EngineCore::service_full_name(), false);
    router_server_ = Serve(&router_, &router_address_);
    EnginePoolOptions options;
    options.addresses = {serving_address_, idle_address_};
    options.routing = RoutingPolicy::kRouter;
    pool_ = *EnginePool::Create(options);
    ASSERT_TRUE(pool_->WaitForServing(absl::Seconds(10)));
    for (int i = 0; i < 500 && !pool_->engines()[1]->info().has_value(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    absl::StatusOr<std::unique_ptr<RouterClient>> client =
        RouterClient::Create({router_address_, absl::Milliseconds(200)});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  void TearDown() override {
    pool_.reset();
    engine_server_->Shutdown();
    idle_server_->Shutdown();
    router_server_->Shutdown();
  }

  RouteResult RouteOnce(RouterClient& client, const v1::GenerateRequest& request) {
    std::promise<RouteResult> promise;
    client.Route(request, *pool_, [&promise](RouteResult result) { promise.set_value(std::move(result)); });
    return promise.get_future().get();
  }

  FakeEngine engine_{kBlockSize}, idle_engine_{kBlockSize};
  FakeRouter router_;
  std::unique_ptr<grpc::Server> engine_server_, idle_server_, router_server_;
  std::string serving_address_, idle_address_, router_address_;
  std::unique_ptr<EnginePool> pool_;
  std::unique_ptr<RouterClient> client_;
};

TEST(RoutingPolicyTest, RouterIsAPolicyName) {
  EXPECT_EQ(*ParseRoutingPolicy("router"), RoutingPolicy::kRouter);
  EXPECT_EQ(*ParseRoutingPolicy("least-loaded"), RoutingPolicy::kLeastLoaded);
  EXPECT_EQ(*ParseRoutingPolicy("round-robin"), RoutingPolicy::kRoundRobin);
  EXPECT_EQ(ParseRoutingPolicy("cache-aware").status().message(),
            "unknown routing policy 'cache-aware'; use least-loaded, round-robin or router");
}

TEST(MakeRouteRequestTest, CarriesTheEnginesBlockKeysWithTheCacheSalt) {
  const v1::GenerateRequest request = Request(10, "tenant-a");
  const v1::RouteRequest route = MakeRouteRequest(request, {"m", kBlockSize});
  EXPECT_EQ(route.request_id(), "r-0");
  EXPECT_EQ(route.model(), "m");
  EXPECT_EQ(route.max_tokens(), 7u);
  EXPECT_EQ(route.num_prompt_tokens(), 10u);
  ASSERT_TRUE(route.has_block_keys());
  EXPECT_EQ(route.block_keys().block_size(), 4u);
  // 10 tokens: two full blocks; the engine's own function, with the salt.
  const std::vector<int32_t> tokens(request.prompt_token_ids().begin(), request.prompt_token_ids().end());
  const std::vector<std::string> expected = KeyBytes(tokens, kBlockSize, "tenant-a");
  ASSERT_EQ(expected.size(), 2u);
  ASSERT_EQ(route.block_keys().keys_size(), 2);
  EXPECT_EQ(route.block_keys().keys(0), expected[0]);
  EXPECT_EQ(route.block_keys().keys(1), expected[1]);
  // Another salt, other keys.
  EXPECT_NE(MakeRouteRequest(Request(10, "tenant-b"), {"m", kBlockSize}).block_keys().keys(0), expected[0]);
}

TEST(MakeRouteRequestTest, SendsTokensWhenTheBlockSizeIsUnknown) {
  const v1::RouteRequest route = MakeRouteRequest(Request(5, "s"), {"", 0});
  ASSERT_TRUE(route.has_tokens());
  EXPECT_EQ(route.tokens().token_ids_size(), 5);
  EXPECT_EQ(route.tokens().token_ids(4), 104);
  EXPECT_EQ(route.tokens().cache_salt(), "s");
  EXPECT_EQ(route.model(), "");
}

TEST(FallbackReasonTest, NamesEveryFallback) {
  EXPECT_EQ(FallbackReason(RouteOutcome::kRouted), "");
  EXPECT_EQ(FallbackReason(RouteOutcome::kTimeout), "timeout");
  EXPECT_EQ(FallbackReason(RouteOutcome::kUnavailable), "unavailable");
  EXPECT_EQ(FallbackReason(RouteOutcome::kRouterError), "error");
  EXPECT_EQ(FallbackReason(RouteOutcome::kUnknownEngine), "unknown_engine");
  EXPECT_EQ(FallbackReason(RouteOutcome::kEngineUnavailable), "engine_unavailable");
  EXPECT_EQ(OutcomeOfError(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")), RouteOutcome::kTimeout);
  EXPECT_EQ(OutcomeOfError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")), RouteOutcome::kUnavailable);
  EXPECT_EQ(OutcomeOfError(grpc::Status(grpc::StatusCode::NOT_FOUND, "")), RouteOutcome::kRouterError);
}

TEST(RouterClientOptionsTest, RefusesAnEmptyAddressOrTimeout) {
  EXPECT_EQ(RouterClient::Create({"", absl::Milliseconds(20)}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RouterClient::Create({"127.0.0.1:1", absl::ZeroDuration()}).status().message(),
            "the router timeout must be positive, got 0");
}

TEST_F(RouterClientTest, KeysAreComputedAtTheEnginesBlockSize) {
  const RouteKeying keying = KeyingOf(*pool_);
  EXPECT_EQ(keying.model, "m");
  EXPECT_EQ(keying.block_size, kBlockSize);
  router_.AnswerAddress(serving_address_);
  const v1::GenerateRequest request = Request(9, "salt");
  RouteOnce(*client_, request);
  const v1::RouteRequest seen = router_.last();
  const std::vector<int32_t> tokens(request.prompt_token_ids().begin(), request.prompt_token_ids().end());
  const std::vector<std::string> expected = KeyBytes(tokens, kBlockSize, "salt");
  ASSERT_EQ(seen.block_keys().keys_size(), 2);
  EXPECT_EQ(seen.block_keys().keys(0), expected[0]);
  EXPECT_EQ(seen.block_keys().keys(1), expected[1]);
  EXPECT_EQ(seen.num_prompt_tokens(), 9u);
}

TEST_F(RouterClientTest, TheNamedServingEngineIsTheAnswer) {
  router_.AnswerAddress(serving_address_);
  const RouteResult result = RouteOnce(*client_, Request(8));
  EXPECT_EQ(result.outcome, RouteOutcome::kRouted);
  ASSERT_NE(result.engine, nullptr);
  EXPECT_EQ(result.engine->address(), serving_address_);
}

TEST_F(RouterClientTest, AnEngineTheGatewayDoesNotHaveIsAFallback) {
  router_.AnswerAddress("10.9.9.9:8100");
  const RouteResult result = RouteOnce(*client_, Request(8));
  EXPECT_EQ(result.outcome, RouteOutcome::kUnknownEngine);
  EXPECT_EQ(result.engine, nullptr);
}

TEST_F(RouterClientTest, AnEngineThatIsNotServingIsAFallback) {
  router_.AnswerAddress(idle_address_);
  const RouteResult result = RouteOnce(*client_, Request(8));
  EXPECT_EQ(result.outcome, RouteOutcome::kEngineUnavailable);
  EXPECT_EQ(result.engine, nullptr);
}

TEST_F(RouterClientTest, RouterErrorsAreFallbacks) {
  router_.Answer([](v1::RouteResponse*) { return grpc::Status(grpc::StatusCode::NOT_FOUND, "no engine serves"); });
  EXPECT_EQ(RouteOnce(*client_, Request(8)).outcome, RouteOutcome::kRouterError);
  router_.Answer([](v1::RouteResponse*) { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "none available"); });
  EXPECT_EQ(RouteOnce(*client_, Request(8)).outcome, RouteOutcome::kUnavailable);
}

TEST_F(RouterClientTest, ASlowRouterTimesOutAtTheDeadline) {
  router_.Answer([](v1::RouteResponse*) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return grpc::Status::OK;
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RouteOnce(*client_, Request(8)).outcome, RouteOutcome::kTimeout);
  // The deadline is 200 ms; the router answers after 800.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(600));
}

TEST_F(RouterClientTest, AnUnreachableRouterIsUnavailable) {
  absl::StatusOr<std::unique_ptr<RouterClient>> client =
      RouterClient::Create({ClosedAddress(), absl::Milliseconds(1000)});
  ASSERT_TRUE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RouteOnce(**client, Request(8)).outcome, RouteOutcome::kUnavailable);
  // A refused connection fails the call at once, not at the deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

}  // namespace
}  // namespace tern
