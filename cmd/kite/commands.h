#pragma once
// Each subcommand registers itself on the root CLI here; main() only dispatches.

#include <CLI/CLI.hpp>

namespace kite::cmd {

// Thrown by a subcommand that wants a specific exit status (e.g. `kite cri exec`
// passing on the command's exit code); main() turns it into the return value.
struct ExitStatus {
  int code;
};

// `kite cri ...`: talk to a CRI runtime directly (like crictl), for debugging
// the node and for the single-command demo before the cluster exists.
void addCriCommand(CLI::App& root);

// `kite kubelet`: the kubelet alone (static pods from --pod-manifest-path).
void addKubeletCommand(CLI::App& root);

// `kite server`: the control plane (API server).
void addServerCommand(CLI::App& root);

// `kite agent`: the kubelet joined to a kite server with the join token.
void addAgentCommand(CLI::App& root);

// `kite proxy`: the Service proxy alone (nftables), against any API server.
void addProxyCommand(CLI::App& root);

// `kite bench proxy`: the Service proxy's benchmarks (nftables against an iptables baseline).
void addBenchCommand(CLI::App& root);

}  // namespace kite::cmd
