#pragma once
// What every controller `kite server` runs looks like to the controller manager: it starts
// its informers and workers, and stops them (joining its threads). Controllers talk to the API
// server only through the shared client (kite/client/client.h).

#include <string>

namespace kite::controlplane::controllers {

class Controller {
 public:
  virtual ~Controller() = default;
  // As upstream names it in --controllers: "deployment", "replicaset", "endpointslice", ...
  virtual std::string name() const = 0;
  virtual void start() = 0;
  // Idempotent; returns once no thread of the controller runs.
  virtual void stop() = 0;
};

}  // namespace kite::controlplane::controllers
