#include "kite/cri/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include "grpc_images.h"
#include "grpc_runtime.h"
#include "kite/cri/endpoint.h"

namespace kite::cri {

Client connect(const ClientOptions& options) {
  const Endpoint endpoint = parseEndpoint(options.endpoint);

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.maxMessageBytes);
  args.SetMaxSendMessageSize(options.maxMessageBytes);
  // A local socket needs no proxy, whatever http_proxy says.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // Reconnect quickly after the runtime restarts instead of backing off for a minute.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(endpoint.uri, grpc::InsecureChannelCredentials(), args);

  return Client{
      std::make_shared<detail::GrpcRuntime>(channel, endpoint.uri, options),
      std::make_shared<detail::GrpcImages>(channel, endpoint.uri, options),
  };
}

v1::ImageSpec imageSpec(const std::string& reference) {
  v1::ImageSpec spec;
  spec.set_image(reference);
  return spec;
}

}  // namespace kite::cri
