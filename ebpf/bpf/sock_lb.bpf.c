// SPDX-License-Identifier: GPL-2.0
/* Socket-level Service load balancing: the virtual address a socket asks for (ClusterIP:port,
 * externalIP:port) is replaced by a backend's when the socket connects (TCP, connected UDP)
 * or sends (unconnected UDP), once per connection instead of once per packet. Replies and
 * getpeername show the virtual address again, so applications see what they asked for.
 * Both families: IPv4 sockets, and IPv6 sockets reaching IPv6 Services or, through
 * IPv4-mapped addresses, IPv4 ones (maps.h keeps every address in 16 bytes). A released
 * socket's reverse translation is removed. Attached to a cgroup v2 (the root in production:
 * every socket of the host and its pods). */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "kite/ebpf/maps.h"

#define ECONNREFUSED 111
#define EHOSTUNREACH 113
#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define NSEC_PER_SEC 1000000000ULL

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KITE_MAX_SERVICES);
  __type(key, struct kite_service_key);
  __type(value, struct kite_service_value);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} kite_services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KITE_MAX_BACKENDS);
  __type(key, struct kite_backend_key);
  __type(value, struct kite_backend);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} kite_backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KITE_MAX_BACKENDS);
  __type(key, struct kite_member_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} kite_members SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KITE_MAX_SERVICES);
  __type(key, __u32);
  __type(value, struct kite_maglev_table);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} kite_maglev SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, KITE_MAX_AFFINITY);
  __type(key, struct kite_affinity_key);
  __type(value, struct kite_affinity_value);
} kite_affinity SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, KITE_MAX_REVNAT);
  __type(key, struct kite_revnat_key);
  __type(value, struct kite_revnat_value);
} kite_revnat SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct kite_sock_revnat);
} kite_sock_revnat SEC(".maps");

static __always_inline int is_tcp_or_udp(__u32 proto) {
  return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_;
}

/* ::ffff:a.b.c.d, the form maps.h keeps an IPv4 address in. */
static __always_inline void map_v4(__u32 addr[4], __u32 ip4) {
  addr[0] = 0;
  addr[1] = 0;
  addr[2] = bpf_htonl(0x0000ffff);
  addr[3] = ip4;
}

static __always_inline int is_v4_mapped(const __u32 addr[4]) {
  return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0x0000ffff);
}

static __always_inline void copy_addr(__u32 to[4], const __u32 from[4]) {
  to[0] = from[0];
  to[1] = from[1];
  to[2] = from[2];
  to[3] = from[3];
}

static __always_inline int same_revnat_key(const struct kite_revnat_key* a,
                                           const struct kite_revnat_key* b) {
  return a->cookie == b->cookie && a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] &&
         a->addr[2] == b->addr[2] && a->addr[3] == b->addr[3] && a->port == b->port;
}

/* The kite_revnat key of a socket's current peer (connected TCP or UDP); 0 when it has none. */
static __always_inline int peer_revnat_key(struct bpf_sock* sk, __u64 cookie,
                                           struct kite_revnat_key* key) {
  key->cookie = cookie;
  key->port = (__u16)sk->dst_port;
  if (sk->family == AF_INET_) {
    map_v4(key->addr, sk->dst_ip4);
  } else if (sk->family == AF_INET6_) {
    key->addr[0] = sk->dst_ip6[0];
    key->addr[1] = sk->dst_ip6[1];
    key->addr[2] = sk->dst_ip6[2];
    key->addr[3] = sk->dst_ip6[3];
  } else {
    return 0;
  }
  return key->port != 0;
}

/* Keeps a kite_revnat key with the socket, for cgroup/sock_release. Creating the socket-local
 * storage costs about as much as the rest of a connect's work, so only the calls that need it
 * come here (see pick()). */
static __always_inline void remember_revnat(struct bpf_sock* sk,
                                            const struct kite_revnat_key* key) {
  struct kite_sock_revnat* kept =
      bpf_sk_storage_get(&kite_sock_revnat, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (!kept) return;
  for (int i = 0; i < KITE_SOCK_REVNAT_KEYS; ++i) {
    if (same_revnat_key(&kept->keys[i], key)) return;
  }
  const __u32 slot = kept->next % KITE_SOCK_REVNAT_KEYS;
  kept->keys[slot] = *key;
  kept->next = slot + 1;
}

/* A remembered backend for this client, if still fresh and still an endpoint. */
static __always_inline const struct kite_backend* affine_backend(
    const struct kite_affinity_key* key, const struct kite_service_value* svc, __u64 now) {
  struct kite_affinity_value* seen = bpf_map_lookup_elem(&kite_affinity, key);
  if (!seen) return 0;
  if (now - seen->last_used_ns > (__u64)svc->affinity_timeout * NSEC_PER_SEC) return 0;
  struct kite_member_key member = {.id = svc->id, .backend = seen->backend};
  if (!bpf_map_lookup_elem(&kite_members, &member)) return 0;
  seen->last_used_ns = now;
  return &seen->backend;
}

/* The slot a client's Maglev hash picks in the Service's table; -1 when there is none. */
static __always_inline long maglev_slot(struct bpf_sock_addr* ctx, __u32 id) {
  const struct kite_maglev_table* table = bpf_map_lookup_elem(&kite_maglev, &id);
  if (!table) return -1;
  __u32 entry = kite_maglev_entry(bpf_get_netns_cookie(ctx));
  /* The verifier does not bound a modulo: keep the check the compiler would drop. */
  asm volatile("" : "+r"(entry));
  if (entry >= KITE_MAGLEV_SIZE) return -1;
  return table->slot[entry];
}

enum verdict { PASS, TRANSLATED, REFUSE, UNREACHABLE };

/* Picks a backend for a connect or send to addr:port (network order) when that is a Service:
 * TRANSLATED with *chosen set (the client's remembered backend under affinity, else one by
 * Maglev hashing of the client or at random), PASS when it is no Service (or a list is being
 * rewritten), REFUSE when the Service has no endpoints, UNREACHABLE when none may be used from this
 * node (internalTrafficPolicy Local). Remembers the translation for the replies. */
static __always_inline enum verdict pick(struct bpf_sock_addr* ctx, const __u32 addr[4], __u16 port,
                                         int sending, struct kite_backend* chosen) {
  const __u32 proto = ctx->protocol;
  if (!is_tcp_or_udp(proto)) return PASS;
  struct kite_service_key key = {.port = port, .proto = (__u8)proto};
  copy_addr(key.addr, addr);
  const struct kite_service_value* svc = bpf_map_lookup_elem(&kite_services, &key);
  if (!svc) return PASS;
  if (svc->count == 0) {
    return (svc->flags & KITE_SERVICE_NO_LOCAL_ENDPOINTS) ? UNREACHABLE : REFUSE;
  }

  struct kite_affinity_key akey = {};
  __u64 now = 0;
  const struct kite_backend* found = 0;
  if (svc->affinity_timeout) {
    now = bpf_ktime_get_ns();
    akey.service = key;
    akey.netns = bpf_get_netns_cookie(ctx);
    found = affine_backend(&akey, svc, now);
  }
  if (!found) {
    struct kite_backend_key bkey = {.id = svc->id};
    if (svc->flags & KITE_SERVICE_MAGLEV) {
      const long slot = maglev_slot(ctx, svc->id);
      if (slot < 0) return PASS;
      bkey.slot = (__u32)slot;
      found = bpf_map_lookup_elem(&kite_backends, &bkey);
    } else {
      __u32 slot = bpf_get_prandom_u32() % svc->count;
      if (svc->flags & KITE_SERVICE_INLINE) {
        asm volatile("" : "+r"(slot)); /* keep the bound the verifier needs */
        if (slot >= KITE_INLINE_BACKENDS) return PASS;
        found = &svc->backends[slot];
      } else {
        bkey.slot = slot;
        found = bpf_map_lookup_elem(&kite_backends, &bkey);
      }
    }
    if (!found) return PASS;
    if (svc->affinity_timeout) {
      struct kite_affinity_value v = {.last_used_ns = now, .backend = *found};
      bpf_map_update_elem(&kite_affinity, &akey, &v, BPF_ANY);
    }
  }
  *chosen = *found;

  struct kite_revnat_key rkey = {.cookie = bpf_get_socket_cookie(ctx), .port = chosen->port};
  copy_addr(rkey.addr, chosen->addr);
  struct kite_revnat_value rval = {.port = port};
  copy_addr(rval.addr, addr);
  bpf_map_update_elem(&kite_revnat, &rkey, &rval, BPF_ANY);
  /* cgroup/sock_release finds a connected socket's element by its peer, so a connect keeps no
   * key with the socket (creating that storage doubled the program's cost); an unconnected
   * send has no peer to be found by and keeps its key. */
  if (sending && ctx->sk) remember_revnat(ctx->sk, &rkey);
  return TRANSLATED;
}

/* A second connect of a socket (connected UDP moving on to another peer; TCP after an
 * AF_UNSPEC disconnect has no peer left and is not seen here): the previous peer's reverse
 * translation, if it has one, can no longer be found by the peer at release, so its key is
 * kept with the socket. A socket's first connect costs one field read here. */
static __always_inline void keep_previous_peer(struct bpf_sock_addr* ctx) {
  struct bpf_sock* sk = ctx->sk;
  if (!sk || sk->dst_port == 0) return;
  struct kite_revnat_key previous = {};
  if (!peer_revnat_key(sk, bpf_get_socket_cookie(ctx), &previous)) return;
  if (bpf_map_lookup_elem(&kite_revnat, &previous)) remember_revnat(sk, &previous);
}

/* The errno of a refused call, 0 to let it go on (translated or not). */
static __always_inline int translate4(struct bpf_sock_addr* ctx, int sending) {
  __u32 addr[4];
  map_v4(addr, ctx->user_ip4);
  struct kite_backend chosen = {};
  const enum verdict v = pick(ctx, addr, (__u16)ctx->user_port, sending, &chosen);
  if (v == REFUSE) return ECONNREFUSED;
  if (v == UNREACHABLE) return EHOSTUNREACH;
  if (v == TRANSLATED && is_v4_mapped(chosen.addr)) {
    ctx->user_ip4 = chosen.addr[3];
    ctx->user_port = chosen.port;
  }
  return 0;
}

/* IPv6 addresses, and IPv4 ones in an IPv6 socket (::ffff:a.b.c.d, dual-stack sockets reaching
 * IPv4 Services): the backend is of the Service's family, so written in the same form. */
static __always_inline int translate6(struct bpf_sock_addr* ctx, int sending) {
  __u32 addr[4];
  addr[0] = ctx->user_ip6[0];
  addr[1] = ctx->user_ip6[1];
  addr[2] = ctx->user_ip6[2];
  addr[3] = ctx->user_ip6[3];
  struct kite_backend chosen = {};
  const enum verdict v = pick(ctx, addr, (__u16)ctx->user_port, sending, &chosen);
  if (v == REFUSE) return ECONNREFUSED;
  if (v == UNREACHABLE) return EHOSTUNREACH;
  if (v == TRANSLATED) {
    ctx->user_ip6[0] = chosen.addr[0];
    ctx->user_ip6[1] = chosen.addr[1];
    ctx->user_ip6[2] = chosen.addr[2];
    ctx->user_ip6[3] = chosen.addr[3];
    ctx->user_port = chosen.port;
  }
  return 0;
}

SEC("cgroup/connect4")
int kite_connect4(struct bpf_sock_addr* ctx) {
  keep_previous_peer(ctx);
  const int err = translate4(ctx, 0);
  if (!err) return 1;
  bpf_set_retval(-err);
  return 0;
}

SEC("cgroup/connect6")
int kite_connect6(struct bpf_sock_addr* ctx) {
  keep_previous_peer(ctx);
  const int err = translate6(ctx, 0);
  if (!err) return 1;
  bpf_set_retval(-err);
  return 0;
}

/* Unconnected UDP to a Service without (usable) endpoints: the send fails with the errno a
 * connect would get. */
SEC("cgroup/sendmsg4")
int kite_sendmsg4(struct bpf_sock_addr* ctx) {
  const int err = translate4(ctx, 1);
  if (!err) return 1;
  bpf_set_retval(-err);
  return 0;
}

SEC("cgroup/sendmsg6")
int kite_sendmsg6(struct bpf_sock_addr* ctx) {
  const int err = translate6(ctx, 1);
  if (!err) return 1;
  bpf_set_retval(-err);
  return 0;
}

/* Shows the virtual address in place of the backend's: replies of unconnected UDP
 * (recvmsg) and the peer of a translated socket (getpeername). */
static __always_inline void reverse4(struct bpf_sock_addr* ctx) {
  struct kite_revnat_key rkey = {.cookie = bpf_get_socket_cookie(ctx),
                                 .port = (__u16)ctx->user_port};
  map_v4(rkey.addr, ctx->user_ip4);
  const struct kite_revnat_value* v = bpf_map_lookup_elem(&kite_revnat, &rkey);
  if (!v || !is_v4_mapped(v->addr)) return;
  ctx->user_ip4 = v->addr[3];
  ctx->user_port = v->port;
}

static __always_inline void reverse6(struct bpf_sock_addr* ctx) {
  struct kite_revnat_key rkey = {.cookie = bpf_get_socket_cookie(ctx),
                                 .port = (__u16)ctx->user_port};
  rkey.addr[0] = ctx->user_ip6[0];
  rkey.addr[1] = ctx->user_ip6[1];
  rkey.addr[2] = ctx->user_ip6[2];
  rkey.addr[3] = ctx->user_ip6[3];
  const struct kite_revnat_value* v = bpf_map_lookup_elem(&kite_revnat, &rkey);
  if (!v) return;
  ctx->user_ip6[0] = v->addr[0];
  ctx->user_ip6[1] = v->addr[1];
  ctx->user_ip6[2] = v->addr[2];
  ctx->user_ip6[3] = v->addr[3];
  ctx->user_port = v->port;
}

SEC("cgroup/recvmsg4")
int kite_recvmsg4(struct bpf_sock_addr* ctx) {
  reverse4(ctx);
  return 1;
}

SEC("cgroup/getpeername4")
int kite_getpeername4(struct bpf_sock_addr* ctx) {
  reverse4(ctx);
  return 1;
}

SEC("cgroup/recvmsg6")
int kite_recvmsg6(struct bpf_sock_addr* ctx) {
  reverse6(ctx);
  return 1;
}

SEC("cgroup/getpeername6")
int kite_getpeername6(struct bpf_sock_addr* ctx) {
  reverse6(ctx);
  return 1;
}

/* A socket going away: the reverse translations it wrote go with it. A connected socket (TCP,
 * connected UDP) still has its peer, the backend it was sent to, here; the keys kept in
 * kite_sock_revnat cover unconnected UDP sockets, which may have sent to several. */
SEC("cgroup/sock_release")
int kite_sock_release(struct bpf_sock* sk) {
  if (!is_tcp_or_udp(sk->protocol)) return 1;
  struct kite_revnat_key rkey = {};
  if (peer_revnat_key(sk, bpf_get_socket_cookie(sk), &rkey)) {
    bpf_map_delete_elem(&kite_revnat, &rkey);
  }
  struct kite_sock_revnat* kept = bpf_sk_storage_get(&kite_sock_revnat, sk, 0, 0);
  if (!kept) return 1;
  for (int i = 0; i < KITE_SOCK_REVNAT_KEYS; ++i) {
    if (kept->keys[i].cookie != 0) bpf_map_delete_elem(&kite_revnat, &kept->keys[i]);
  }
  return 1;
}
