/* The one definition of the BPF maps' keys and values, shared by the programs in ebpf/bpf
 * (compiled with clang -target bpf against the kernel's vmlinux.h) and the userspace loader
 * (C++), so the two can never disagree on a layout. Plain C, fixed-width fields, explicit
 * padding: the kernel compares keys byte by byte, so every pad must be zero.
 *
 * Addresses and ports are in network byte order, as the kernel hands them to the programs. */
#ifndef KITE_EBPF_MAPS_H
#define KITE_EBPF_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Map sizes: enough for ~30k Service ports with a few backends each. */
#define KITE_MAX_SERVICES 65536
#define KITE_MAX_BACKENDS 262144
#define KITE_MAX_AFFINITY 65536
#define KITE_MAX_REVNAT 262144

/* A virtual address clients connect to: ClusterIP:port or externalIP:port, per protocol. */
struct kite_service_key {
  __u32 addr; /* IPv4, network order */
  __u16 port; /* network order */
  __u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 pad;
};

/* What a virtual address leads to. `id` names one generation of the backend list: a change of
 * endpoints writes the new list under a fresh id and then flips this value, so a connect never
 * sees half a list. */
struct kite_service_value {
  __u32 id;
  __u32 count;            /* backends in slots 0..count-1; 0 refuses the connect */
  __u32 affinity_timeout; /* seconds; 0: no session affinity */
  __u32 pad;
};

/* kite_backends: (generation id, slot) -> backend. */
struct kite_backend_key {
  __u32 id;
  __u32 slot;
};

struct kite_backend {
  __u32 addr; /* network order */
  __u16 port; /* network order */
  __u16 pad;
};

/* kite_members: (generation id, backend) -> slot, written only for Services with session
 * affinity, so a remembered backend is checked to still be one of the endpoints. */
struct kite_member_key {
  __u32 id;
  struct kite_backend backend;
};

/* kite_affinity (LRU): which backend a client was sent to for a virtual address. It is used
 * again while younger than the Service's timeout and while kite_members still has it.
 * The client is its network namespace: a socket has no source address yet when it connects,
 * and a pod's namespace stands for its one IP (the host's sockets share one, as all of them
 * share the node's address in kube-proxy's rules). */
struct kite_affinity_key {
  struct kite_service_key service;
  __u64 netns; /* bpf_get_netns_cookie */
};

struct kite_affinity_value {
  __u64 last_used_ns; /* bpf_ktime_get_ns of the last connect */
  struct kite_backend backend;
  __u32 pad;
};

/* kite_revnat (LRU): a socket that was sent to a backend, so replies (recvmsg) and
 * getpeername show the virtual address it asked for. */
struct kite_revnat_key {
  __u64 cookie; /* bpf_get_socket_cookie */
  __u32 addr;   /* backend, network order */
  __u16 port;
  __u16 pad;
};

struct kite_revnat_value {
  __u32 addr; /* virtual address, network order */
  __u16 port;
  __u16 pad;
};

#endif /* KITE_EBPF_MAPS_H */
