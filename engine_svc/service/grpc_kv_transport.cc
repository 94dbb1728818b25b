#include "engine_svc/service/grpc_kv_transport.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "engine_svc/service/request_conversion.h"
#include "tern/v1/engine.grpc.pb.h"

namespace tern {
namespace {

// One Prefill call. gRPC holds it (through `self_`) until OnDone, and the
// KvFetch handle holds it while it lives, so cancelling from the handle is
// safe at any time.
class FetchCall : public grpc::ClientReadReactor<v1::PrefillResponse>, public std::enable_shared_from_this<FetchCall> {
 public:
  FetchCall(std::string address, std::shared_ptr<KvFetchSink> sink)
      : address_(std::move(address)), sink_(std::move(sink)) {}

  void Begin(std::unique_ptr<v1::EngineCore::Stub> stub, v1::PrefillRequest request) {
    stub_ = std::move(stub);
    request_ = std::move(request);
    self_ = shared_from_this();
    stub_->async()->Prefill(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  // A call that delivered its first token ends by itself: cancelling it then
  // could race the prefill engine's last write and count a success as an abort.
  void CancelUnlessDone() {
    if (!done_.load()) context_.TryCancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the call's status.
    if (response_.has_blocks()) {
      v1::KvBlocks* blocks = response_.mutable_blocks();
      sink_->OnBlocks(blocks->first_block(), blocks->num_blocks(), std::move(*blocks->mutable_data()));
    }
    if (response_.done()) {
      done_.store(true);
      KvReceived received;
      received.first_token = response_.first_token_id();
      if (response_.has_first_token_logprobs()) received.logprobs = FromProto(response_.first_token_logprobs());
      received.num_cached_tokens = response_.num_cached_tokens();
      sink_->OnDone(std::move(received));
    }
    response_.Clear();
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!done_.load()) {
      const absl::StatusCode code =
          status.ok() ? absl::StatusCode::kInternal : static_cast<absl::StatusCode>(status.error_code());
      const std::string message = status.ok() ? "the stream ended before the first token" : status.error_message();
      sink_->OnFailed(absl::Status(code, absl::StrCat("prefill engine ", address_, ": ", message)));
    }
    std::shared_ptr<FetchCall> last = std::move(self_);  // May be the last reference.
  }

 private:
  const std::string address_;
  std::shared_ptr<KvFetchSink> sink_;
  std::unique_ptr<v1::EngineCore::Stub> stub_;
  grpc::ClientContext context_;
  v1::PrefillRequest request_;
  v1::PrefillResponse response_;
  std::atomic<bool> done_{false};  // Set by a reaction before the sink hears of it.
  std::shared_ptr<FetchCall> self_;
};

class GrpcKvFetch : public KvFetch {
 public:
  explicit GrpcKvFetch(std::shared_ptr<FetchCall> call) : call_(std::move(call)) {}
  ~GrpcKvFetch() override { call_->CancelUnlessDone(); }

 private:
  std::shared_ptr<FetchCall> call_;
};

}  // namespace

std::shared_ptr<grpc::Channel> GrpcKvTransport::Channel(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<grpc::Channel>& channel = channels_[address];
  if (channel == nullptr) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);  // A block of a large model is several MiB.
    channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  return channel;
}

std::unique_ptr<KvFetch> GrpcKvTransport::Start(KvFetchRequest request, std::shared_ptr<KvFetchSink> sink) {
  v1::PrefillRequest prefill;
  *prefill.mutable_request() = std::move(request.request);
  *prefill.mutable_layout() = ToProto(layout_);
  prefill.set_num_skip_blocks(static_cast<uint32_t>(request.num_skip_blocks));
  std::unique_ptr<v1::EngineCore::Stub> stub = v1::EngineCore::NewStub(Channel(request.prefill_engine));
  auto call = std::make_shared<FetchCall>(request.prefill_engine, std::move(sink));
  call->Begin(std::move(stub), std::move(prefill));
  return std::make_unique<GrpcKvFetch>(std::move(call));
}

}  // namespace tern
