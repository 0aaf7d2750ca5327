#include "grpc_event_stream.h"

#include "grpc_caller.h"

namespace kite::cri::detail {

GrpcEventStream::GrpcEventStream(v1::RuntimeService::Stub& stub, std::string endpoint)
    : endpoint_(std::move(endpoint)) {
  reader_ = stub.GetContainerEvents(&context_, v1::GetEventsRequest{});
}

GrpcEventStream::~GrpcEventStream() {
  if (!finished_) {
    context_.TryCancel();
    reader_->Finish();
  }
}

std::optional<v1::ContainerEventResponse> GrpcEventStream::next() {
  if (finished_) {
    return std::nullopt;
  }
  v1::ContainerEventResponse event;
  if (reader_->Read(&event)) {
    return event;
  }
  finished_ = true;
  const grpc::Status status = reader_->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    throw toError("RuntimeService/GetContainerEvents", endpoint_, status,
                  std::chrono::milliseconds(0));
  }
  return std::nullopt;
}

void GrpcEventStream::cancel() { context_.TryCancel(); }

}  // namespace kite::cri::detail
