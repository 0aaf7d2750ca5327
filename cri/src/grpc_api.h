#pragma once
// Internal: the generated gRPC stubs, behind the same signal-macro shield as
// kite/cri/api.h.

#include "kite/cri/api.h"

// clang-format off
#include "kite/cri/detail/hide_signal_macros.h"
#include "runtime/v1/api.grpc.pb.h"
#include "kite/cri/detail/restore_signal_macros.h"
// clang-format on
