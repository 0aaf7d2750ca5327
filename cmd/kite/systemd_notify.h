#pragma once
// sd_notify without libsystemd: tells systemd a Type=notify service is ready.

namespace kite::cmd {

// Sends "READY=1" to the datagram socket $NOTIFY_SOCKET names (a path, or an abstract socket
// when it starts with '@'). Does nothing outside systemd (variable unset); a failed send is
// logged, never fatal: the service then only looks slow to start.
void notifySystemdReady();

}  // namespace kite::cmd
