#pragma once
// A probe's or hook's port: a number, or the name of one of the container's
// ports. Returns 0 when a name matches no port (the probe then fails to connect).

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

int resolvePort(const api::IntOrString& port, const api::core::v1::Container& container);

}  // namespace kite::kubelet
