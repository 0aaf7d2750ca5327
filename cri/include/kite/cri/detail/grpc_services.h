#pragma once
// The generated gRPC stubs (for the client and for benchmarks comparing against
// the bare stubs), behind the same signal-macro shield as
// kite/cri/api.h.

#include "kite/cri/api.h"

// clang-format off
#include "kite/cri/detail/hide_signal_macros.h"
#include "runtime/v1/api.grpc.pb.h"
#include "kite/cri/detail/restore_signal_macros.h"
// clang-format on
