// The engine watcher against a scripted fake engine on a loopback port: each
// WatchState call plays the next script, then keeps the stream alive with
// load-only messages. The sink is the real RouterService.
#include "router/service/engine_watcher.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "router/service/router_service.h"

namespace tern {
namespace {

constexpr int kBlockSize = 4;

std::vector<BlockKey> Keys(int32_t first, int n) {
  std::vector<int32_t> tokens(n * kBlockSize);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = first + static_cast<int32_t>(i);
  return ComputeBlockKeys(tokens, kBlockSize, {});
}

v1::EngineState Message(uint64_t epoch, uint64_t sequence, bool snapshot, const std::vector<BlockKey>& stored = {}) {
  v1::EngineState state;
  state.set_epoch(epoch);
  state.set_sequence(sequence);
  state.set_is_snapshot(snapshot);
  v1::LoadSnapshot* load = state.mutable_load();
  load->set_num_kv_blocks(100);
  load->set_num_free_blocks(100);
  if (!stored.empty()) {
    v1::KvEvent* event = state.add_events();
    event->set_kind(v1::KvEvent::KIND_BLOCK_STORED);
    for (const BlockKey& key : stored) event->add_block_keys(std::string(key.AsBytes()));
  }
  return state;
}

struct Script {
  std::vector<v1::EngineState> messages;
  uint64_t epoch = 1;
};

class FakeEngine final : public v1::EngineCore::Service {
 public:
  explicit FakeEngine(std::vector<Script> scripts) : scripts_(std::move(scripts)) {}

  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*, v1::EngineInfo* info) override {
    absl::MutexLock lock(&mu_);
    info->set_model("m");
    info->set_block_size(kBlockSize);
    info->set_num_kv_blocks(100);
    info->set_role(v1::ENGINE_ROLE_BOTH);
    info->set_epoch(scripts_[std::min<size_t>(calls_, scripts_.size() - 1)].epoch);
    return grpc::Status::OK;
  }

  grpc::Status WatchState(grpc::ServerContext* context, const v1::WatchStateRequest*,
                          grpc::ServerWriter<v1::EngineState>* writer) override {
    Script script;
    {
      absl::MutexLock lock(&mu_);
      script = scripts_[std::min<size_t>(calls_, scripts_.size() - 1)];
      ++calls_;
    }
    uint64_t sequence = 0, epoch = script.epoch;
    for (const v1::EngineState& message : script.messages) {
      if (!writer->Write(message)) return grpc::Status::OK;
      sequence = message.sequence() + 1;
      epoch = message.epoch();
    }
    // Keep-alive: load-only messages that follow on from the script.
    while (!context->IsCancelled()) {
      if (!writer->Write(Message(epoch, sequence++, false))) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return grpc::Status::OK;
  }

  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Script> scripts_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

class EngineWatcherTest : public ::testing::Test {
 protected:
  void Start(std::vector<Script> scripts, absl::Duration resync_timeout = absl::Seconds(5)) {
    fake_ = std::make_unique<FakeEngine>(std::move(scripts));
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(fake_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
    service_ = std::make_unique<RouterService>(RouterCoreConfig(), metrics_);
    ASSERT_EQ(service_->AddEngine(address_), 0);
    EngineWatcherOptions options;
    options.resync_timeout = resync_timeout;
    options.initial_backoff = absl::Milliseconds(20);
    watcher_ = std::make_unique<EngineWatcher>(0, address_, *service_, options);
    watcher_->Start();
  }
  void TearDown() override {
    if (watcher_ != nullptr) watcher_->Stop();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  v1::EngineStatus Status() {
    const v1::ListEnginesResponse all = service_->ListAll();
    return all.engines(0);
  }
  // The predicted hit for a prompt of `keys` (plus one token).
  uint32_t PredictedBlocks(const std::vector<BlockKey>& keys) {
    v1::RouteRequest request;
    request.set_num_prompt_tokens(static_cast<uint32_t>(keys.size() * kBlockSize + 1));
    request.mutable_block_keys()->set_block_size(kBlockSize);
    for (const BlockKey& key : keys) request.mutable_block_keys()->add_keys(std::string(key.AsBytes()));
    absl::StatusOr<v1::RouteResponse> response = service_->RouteOne(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->predicted_cached_tokens() / kBlockSize : 0;
  }
  bool MetricIs(const std::string& series, int value) {
    return absl::StrContains(metrics_.Serialize(), absl::StrCat(series, " ", value, "\n"));
  }
  std::string Resyncs(const std::string& reason) {
    return absl::StrCat("tern:router_engine_resyncs_total{engine=\"", address_, "\",reason=\"", reason, "\"}");
  }

  std::unique_ptr<FakeEngine> fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  RouterMetrics metrics_;
  std::unique_ptr<RouterService> service_;
  std::unique_ptr<EngineWatcher> watcher_;
};

TEST_F(EngineWatcherTest, FollowsTheStreamFromItsSnapshot) {
  const std::vector<BlockKey> a = Keys(0, 3);
  Start({Script{{Message(1, 0, true, {a[0], a[1]}), Message(1, 1, false, {a[2]})}}});
  ASSERT_TRUE(Eventually([&] { return Status().num_indexed_blocks() == 3; })) << Status().DebugString();
  EXPECT_TRUE(Status().available());
  EXPECT_TRUE(Status().synced());
  EXPECT_EQ(Status().info().model(), "m");
  EXPECT_EQ(PredictedBlocks(a), 3u);
  EXPECT_EQ(fake_->calls(), 1);
}

TEST_F(EngineWatcherTest, AGapIsHealedByTheSnapshotThatFollowsIt) {
  const std::vector<BlockKey> a = Keys(0, 2), b = Keys(100, 1), c = Keys(200, 1), d = Keys(300, 3);
  Start({Script{{Message(1, 0, true, a), Message(1, 1, false, b), Message(1, 3, false, c),  // Lost sequence 2.
                 Message(1, 4, true, d)}}});
  ASSERT_TRUE(Eventually([&] { return MetricIs(Resyncs("gap"), 1) && Status().num_indexed_blocks() == 3; }))
      << Status().DebugString() << metrics_.Serialize();
  EXPECT_TRUE(Status().synced());
  EXPECT_EQ(PredictedBlocks(d), 3u);
  EXPECT_EQ(PredictedBlocks(a), 0u);  // Forgotten with the gap; not in the snapshot.
  EXPECT_EQ(fake_->calls(), 1);
}

TEST_F(EngineWatcherTest, AGapWithoutASnapshotForcesANewStream) {
  const std::vector<BlockKey> a = Keys(0, 2), b = Keys(100, 2);
  Start({Script{{Message(1, 0, true, a), Message(1, 2, false)}}, Script{{Message(1, 0, true, b)}}},
        /*resync_timeout=*/absl::Milliseconds(300));
  ASSERT_TRUE(Eventually([&] { return fake_->calls() == 2 && Status().synced() && Status().available(); }))
      << Status().DebugString();
  EXPECT_EQ(PredictedBlocks(b), 2u);
  EXPECT_EQ(PredictedBlocks(a), 0u);
  EXPECT_TRUE(MetricIs(Resyncs("gap"), 1)) << metrics_.Serialize();
  EXPECT_TRUE(MetricIs(Resyncs("reconnect"), 1)) << metrics_.Serialize();
}

TEST_F(EngineWatcherTest, AMalformedMessageForcesANewStream) {
  v1::EngineState bad = Message(1, 1, false);
  v1::KvEvent* event = bad.add_events();
  event->set_kind(v1::KvEvent::KIND_BLOCK_REMOVED);
  event->add_block_keys("short");
  const std::vector<BlockKey> b = Keys(100, 2);
  Start({Script{{Message(1, 0, true, Keys(0, 2)), bad}}, Script{{Message(1, 0, true, b)}}});
  ASSERT_TRUE(Eventually([&] { return fake_->calls() == 2 && Status().num_indexed_blocks() == 2; }))
      << Status().DebugString();
  EXPECT_EQ(PredictedBlocks(b), 2u);
  EXPECT_TRUE(MetricIs(Resyncs("malformed"), 1)) << metrics_.Serialize();
}

TEST_F(EngineWatcherTest, ANewEpochWithoutASnapshotForcesANewStream) {
  const std::vector<BlockKey> b = Keys(100, 1);
  Script first{{Message(1, 0, true, Keys(0, 2)), Message(2, 1, false)}, 1};
  Script second{{Message(2, 0, true, b)}, 2};
  Start({first, second});
  ASSERT_TRUE(Eventually([&] { return fake_->calls() == 2 && Status().synced() && Status().info().epoch() == 2; }))
      << Status().DebugString();
  EXPECT_EQ(Status().num_indexed_blocks(), 1u);
  // Counted twice: the stream's epoch change, then GetInfo's new epoch.
  EXPECT_TRUE(MetricIs(Resyncs("epoch"), 2)) << metrics_.Serialize();
}

TEST_F(EngineWatcherTest, AnEngineThatIsNotServingIsNotAvailable) {
  Start({Script{{Message(1, 0, true)}}});
  ASSERT_TRUE(Eventually([&] { return Status().available(); }));
  server_->GetHealthCheckService()->SetServingStatus(v1::EngineCore::service_full_name(), false);
  ASSERT_TRUE(Eventually([&] { return !Status().available(); }));
  EXPECT_FALSE(Status().serving());
  EXPECT_TRUE(Status().connected());
  server_->GetHealthCheckService()->SetServingStatus(v1::EngineCore::service_full_name(), true);
  EXPECT_TRUE(Eventually([&] { return Status().available(); }));
}

TEST_F(EngineWatcherTest, StopEndsAnOpenStreamPromptly) {
  Start({Script{{Message(1, 0, true)}}});
  ASSERT_TRUE(Eventually([&] { return Status().available(); }));
  const absl::Time start = absl::Now();
  watcher_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(Status().available());
}

TEST_F(EngineWatcherTest, AnUnreachableEngineIsRetriedAndNeverAvailable) {
  service_ = std::make_unique<RouterService>(RouterCoreConfig(), metrics_);
  ASSERT_EQ(service_->AddEngine("127.0.0.1:1"), 0);
  EngineWatcherOptions options;
  options.initial_backoff = absl::Milliseconds(10);
  options.max_backoff = absl::Milliseconds(50);
  watcher_ = std::make_unique<EngineWatcher>(0, "127.0.0.1:1", *service_, options);
  watcher_->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(Status().available());
  EXPECT_FALSE(Status().connected());
  v1::RouteRequest request;
  request.mutable_tokens()->add_token_ids(1);
  EXPECT_EQ(service_->RouteOne(request).status(), absl::UnavailableError("no engine is available"));
}

}  // namespace
}  // namespace tern
