// SPDX-License-Identifier: GPL-2.0
/* Socket-level Service load balancing: the virtual address a socket asks for (ClusterIP:port,
 * externalIP:port) is replaced by a backend's when the socket connects (TCP, connected UDP)
 * or sends (unconnected UDP), once per connection instead of once per packet. Replies and
 * getpeername show the virtual address again, so applications see what they asked for.
 * IPv6 sockets are served for IPv4-mapped addresses (dual-stack sockets reaching an IPv4
 * Service). Attached to a cgroup v2 (the root in production: every socket of the host and its
 * pods). */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "kite/ebpf/maps.h"

#define ECONNREFUSED 111
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

static __always_inline int is_tcp_or_udp(__u32 proto) {
  return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_;
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

enum verdict { PASS, TRANSLATED, REFUSE };

/* Picks a backend for a connect or send to addr:port (network order) when that is a Service:
 * TRANSLATED with *chosen set, PASS when it is no Service (or a list is being rewritten),
 * REFUSE when the Service has no endpoints. Remembers the translation for the replies. */
static __always_inline enum verdict pick(struct bpf_sock_addr* ctx, __u32 addr, __u16 port,
                                         struct kite_backend* chosen) {
  const __u32 proto = ctx->protocol;
  if (!is_tcp_or_udp(proto)) return PASS;
  struct kite_service_key key = {.addr = addr, .port = port, .proto = (__u8)proto};
  const struct kite_service_value* svc = bpf_map_lookup_elem(&kite_services, &key);
  if (!svc) return PASS;
  if (svc->count == 0) return REFUSE;

  struct kite_affinity_key akey = {};
  const __u64 now = bpf_ktime_get_ns();
  const struct kite_backend* found = 0;
  if (svc->affinity_timeout) {
    akey.service = key;
    akey.netns = bpf_get_netns_cookie(ctx);
    found = affine_backend(&akey, svc, now);
  }
  if (!found) {
    struct kite_backend_key bkey = {.id = svc->id, .slot = bpf_get_prandom_u32() % svc->count};
    found = bpf_map_lookup_elem(&kite_backends, &bkey);
    if (!found) return PASS;
    if (svc->affinity_timeout) {
      struct kite_affinity_value v = {.last_used_ns = now, .backend = *found};
      bpf_map_update_elem(&kite_affinity, &akey, &v, BPF_ANY);
    }
  }
  *chosen = *found;

  struct kite_revnat_key rkey = {
      .cookie = bpf_get_socket_cookie(ctx), .addr = chosen->addr, .port = chosen->port};
  struct kite_revnat_value rval = {.addr = addr, .port = port};
  bpf_map_update_elem(&kite_revnat, &rkey, &rval, BPF_ANY);
  return TRANSLATED;
}

/* 1 to let the call go on (translated or not), 0 to refuse it. */
static __always_inline int translate4(struct bpf_sock_addr* ctx) {
  struct kite_backend chosen = {};
  const enum verdict v = pick(ctx, ctx->user_ip4, (__u16)ctx->user_port, &chosen);
  if (v == REFUSE) return 0;
  if (v == TRANSLATED) {
    ctx->user_ip4 = chosen.addr;
    ctx->user_port = chosen.port;
  }
  return 1;
}

/* An IPv4 address in an IPv6 socket (::ffff:a.b.c.d), as dual-stack sockets connect to IPv4
 * Services. */
static __always_inline int v4_mapped(struct bpf_sock_addr* ctx) {
  return ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 &&
         ctx->user_ip6[2] == bpf_htonl(0x0000ffff);
}

static __always_inline int translate6(struct bpf_sock_addr* ctx) {
  if (!v4_mapped(ctx)) return 1;
  struct kite_backend chosen = {};
  const enum verdict v = pick(ctx, ctx->user_ip6[3], (__u16)ctx->user_port, &chosen);
  if (v == REFUSE) return 0;
  if (v == TRANSLATED) {
    ctx->user_ip6[3] = chosen.addr;
    ctx->user_port = chosen.port;
  }
  return 1;
}

SEC("cgroup/connect4")
int kite_connect4(struct bpf_sock_addr* ctx) {
  if (translate4(ctx)) return 1;
  bpf_set_retval(-ECONNREFUSED);
  return 0;
}

SEC("cgroup/connect6")
int kite_connect6(struct bpf_sock_addr* ctx) {
  if (translate6(ctx)) return 1;
  bpf_set_retval(-ECONNREFUSED);
  return 0;
}

SEC("cgroup/sendmsg6")
int kite_sendmsg6(struct bpf_sock_addr* ctx) { return translate6(ctx); }

SEC("cgroup/sendmsg4")
int kite_sendmsg4(struct bpf_sock_addr* ctx) { return translate4(ctx); }

/* Shows the virtual address in place of the backend's: replies of unconnected UDP
 * (recvmsg) and the peer of a translated socket (getpeername). */
static __always_inline void reverse(struct bpf_sock_addr* ctx) {
  struct kite_revnat_key rkey = {
      .cookie = bpf_get_socket_cookie(ctx), .addr = ctx->user_ip4, .port = (__u16)ctx->user_port};
  const struct kite_revnat_value* v = bpf_map_lookup_elem(&kite_revnat, &rkey);
  if (!v) return;
  ctx->user_ip4 = v->addr;
  ctx->user_port = v->port;
}

static __always_inline void reverse6(struct bpf_sock_addr* ctx) {
  if (!v4_mapped(ctx)) return;
  struct kite_revnat_key rkey = {.cookie = bpf_get_socket_cookie(ctx),
                                 .addr = ctx->user_ip6[3],
                                 .port = (__u16)ctx->user_port};
  const struct kite_revnat_value* v = bpf_map_lookup_elem(&kite_revnat, &rkey);
  if (!v) return;
  ctx->user_ip6[3] = v->addr;
  ctx->user_port = v->port;
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

SEC("cgroup/recvmsg4")
int kite_recvmsg4(struct bpf_sock_addr* ctx) {
  reverse(ctx);
  return 1;
}

SEC("cgroup/getpeername4")
int kite_getpeername4(struct bpf_sock_addr* ctx) {
  reverse(ctx);
  return 1;
}
