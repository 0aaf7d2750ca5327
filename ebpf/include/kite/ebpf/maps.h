/* The one definition of the BPF maps' keys and values, shared by the programs in ebpf/bpf
 * (compiled with clang -target bpf against the kernel's vmlinux.h) and the userspace loader
 * (C++), so the two can never disagree on a layout. Plain C, fixed-width fields, explicit
 * padding: the kernel compares keys byte by byte, so every pad must be zero.
 *
 * Both address families share every map: an address is 16 bytes, an IPv6 address as it is
 * and an IPv4 address in its IPv4-mapped form ::ffff:a.b.c.d (the form a dual-stack IPv6
 * socket uses for it, so such sockets reach IPv4 Services through the same elements).
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
/* Entries of a Maglev table (a prime; ebpf/include/kite/ebpf/maglev.h). */
#define KITE_MAGLEV_SIZE 1021

/* kite_service_value.flags */
/* internalTrafficPolicy Local with no endpoint on this node: the connect fails with
 * EHOSTUNREACH (a Service without any endpoint fails with ECONNREFUSED). */
#define KITE_SERVICE_NO_LOCAL_ENDPOINTS 1U
/* The backend is chosen by Maglev consistent hashing of the client (kite_maglev[id]) instead
 * of at random. */
#define KITE_SERVICE_MAGLEV 2U
/* The backends are kite_service_value.backends[0..count-1], not elements of kite_backends: a
 * connect to the Service reads no other map (one hash lookup fewer, and with many Services
 * two cache misses fewer: the other map's bucket and element). */
#define KITE_SERVICE_INLINE 4U

/* Backend lists of up to this many (the common Service sizes) are kept inline, when the
 * backend is chosen at random (a Maglev table's slots index kite_backends). */
#define KITE_INLINE_BACKENDS 8

/* A virtual address clients connect to: ClusterIP:port or externalIP:port, per protocol. */
struct kite_service_key {
  __u32 addr[4]; /* IPv6, or IPv4-mapped IPv4; network order */
  __u16 port;    /* network order */
  __u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 pad;
};

struct kite_backend {
  __u32 addr[4]; /* same family as the virtual address; network order */
  __u16 port;    /* network order */
  __u16 pad;
};

/* What a virtual address leads to. `id` names one generation of the backend list: a change of
 * endpoints writes the new list under a fresh id and then flips this value, so a connect never
 * sees half a list. An element is replaced whole, so an inline list is never seen half
 * written either. */
struct kite_service_value {
  __u32 id;
  __u32 count;            /* backends in slots 0..count-1; 0 refuses the connect */
  __u32 affinity_timeout; /* seconds; 0: no session affinity */
  __u32 flags;            /* KITE_SERVICE_* */
  struct kite_backend backends[KITE_INLINE_BACKENDS]; /* with KITE_SERVICE_INLINE; else zero */
};

/* kite_backends: (generation id, slot) -> backend. */
struct kite_backend_key {
  __u32 id;
  __u32 slot;
};

/* kite_maglev: generation id -> Maglev lookup table, entry -> slot in kite_backends. The key
 * hashed is the client's network namespace cookie (as for affinity: a socket has no source
 * address or port yet when it connects), so each client keeps its backend across changes of
 * the others. */
struct kite_maglev_table {
  __u32 slot[KITE_MAGLEV_SIZE];
};

/* The table entry of a client, by its network namespace cookie (small counters, mixed so
 * neighbours land far apart). */
static inline __u32 kite_maglev_entry(__u64 netns_cookie) {
  __u64 h = netns_cookie * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  return h % KITE_MAGLEV_SIZE; /* < KITE_MAGLEV_SIZE: fits */
}

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
  __u32 pad;
  __u64 netns; /* bpf_get_netns_cookie */
};

struct kite_affinity_value {
  __u64 last_used_ns; /* bpf_ktime_get_ns of the last connect */
  struct kite_backend backend;
  __u32 pad;
};

/* kite_revnat (LRU): a socket that was sent to a backend, so replies (recvmsg) and
 * getpeername show the virtual address it asked for. Removed when the socket is released
 * (cgroup/sock_release): by its peer, and by the keys kept in kite_sock_revnat; an unconnected
 * UDP socket that sent to more than KITE_SOCK_REVNAT_KEYS backends leaves the older ones to
 * LRU eviction, and so does a connect that has no peer at release (the kernel failed it after
 * the translation, e.g. no route to the backend, or it was undone by an AF_UNSPEC connect).
 * The cookie in the key is never reused, so a left-over element translates nothing. */
struct kite_revnat_key {
  __u64 cookie;  /* bpf_get_socket_cookie */
  __u32 addr[4]; /* backend, network order */
  __u16 port;
  __u16 pad;
  __u32 pad2;
};

/* kite_sock_revnat (socket-local storage, freed with its socket): the kite_revnat keys a
 * socket wrote that its peer will not name at release, the last KITE_SOCK_REVNAT_KEYS distinct
 * ones: an unconnected UDP socket's sends, and a connected socket's previous peer when it
 * connects again. A socket's first connect creates none (the storage cost as much as the rest
 * of the connect program). */
#define KITE_SOCK_REVNAT_KEYS 4
struct kite_sock_revnat {
  struct kite_revnat_key keys[KITE_SOCK_REVNAT_KEYS];
  __u32 next; /* the slot the next new key takes */
  __u32 pad;
};

struct kite_revnat_value {
  __u32 addr[4]; /* virtual address, network order */
  __u16 port;
  __u16 pad;
};

#endif /* KITE_EBPF_MAPS_H */
