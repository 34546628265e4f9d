// One Generate stream as a gRPC callback reactor: gRPC's own few threads run its
// reactions, so one process holds thousands of streams without a thread each. It
// timestamps every message, then hands its validated record to a callback and deletes
// itself.
#ifndef GLASERVE_LOADTEST_GENERATE_CALL_H_
#define GLASERVE_LOADTEST_GENERATE_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "glaserve/v1/glaserve.grpc.pb.h"
#include "loadtest/stream_record.h"

namespace glaserve::loadtest {

struct CallOptions {
  // Deadline of each stream; 0 means none.
  double timeout_seconds = 0;
  // Sent with every call (e.g. authorization).
  std::vector<std::pair<std::string, std::string>> metadata;
};

class GenerateCall : public grpc::ClientReadReactor<v1::GenerateResponse> {
 public:
  using DoneCallback = std::function<void(StreamRecord)>;

  // Sends `request` now. `record` carries the request's expectations (prompt_tokens,
  // max_tokens, ignore_eos, scheduled); `done` runs once, on a gRPC thread.
  static void Start(v1::TextGeneration::Stub& stub, const CallOptions& options, v1::GenerateRequest request,
                    StreamRecord record, DoneCallback done);

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  GenerateCall(v1::GenerateRequest request, StreamRecord record, DoneCallback done)
      : request_(std::move(request)), record_(std::move(record)), done_(std::move(done)) {}

  grpc::ClientContext context_;
  v1::GenerateRequest request_;
  v1::GenerateResponse response_;
  StreamRecord record_;
  DoneCallback done_;
  Clock::time_point last_token_at_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_GENERATE_CALL_H_
