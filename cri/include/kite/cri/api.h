#pragma once
// The CRI v1 messages, safe to include next to <csignal>.
//
// The CRI's `Signal` enum has values named SIGTERM, SIGKILL, ... which
// <signal.h> defines as macros: parsed after <signal.h>, the generated header
// would read `15 = 23`. So the macros are hidden while it is parsed and
// restored afterwards. Kite code includes this header, never the generated one;
// to name a CRI signal value, cast from its number, since the macro wins again
// after this point.

// clang-format off
#include "kite/cri/detail/hide_signal_macros.h"
#include "runtime/v1/api.pb.h"
#include "kite/cri/detail/restore_signal_macros.h"
// clang-format on

namespace kite::cri {
namespace v1 = ::runtime::v1;
}  // namespace kite::cri
