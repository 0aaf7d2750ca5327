// The etcd store against a real single-member etcd: the shared conformance suite (with and
// without a key prefix) and what is particular to etcd (endpoints, errors, wire format).

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "etcd_test_cluster.h"
#include "kite/controlplane/etcd_store.h"
#include "store_conformance.h"

namespace kite::controlplane {
namespace {

using testing::EtcdTestCluster;

struct EtcdBackend {
  EtcdTestCluster cluster{1};
  std::unique_ptr<Store> open() const {
    EtcdStoreOptions options;
    options.endpoints = cluster.clientUrls();
    return openEtcdStore(options);
  }
};

// Everything under a key prefix, as when several users share one etcd.
struct PrefixedEtcdBackend {
  EtcdTestCluster cluster{1};
  std::unique_ptr<Store> open() const {
    EtcdStoreOptions options;
    options.endpoints = cluster.clientUrls();
    options.keyPrefix = "/kite-test";
    return openEtcdStore(options);
  }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, StoreConformance, EtcdBackend);
INSTANTIATE_TYPED_TEST_SUITE_P(PrefixedEtcd, StoreConformance, PrefixedEtcdBackend);
}  // namespace conformance

namespace {

template <typename Fn>
StoreError storeErrorOf(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const StoreError& error) {
    return error;
  }
  ADD_FAILURE() << "no StoreError thrown";
  return {StoreErrorCode::kInternal, "none"};
}

TEST(EtcdEndpoints, SplitsTheFlagValue) {
  EXPECT_EQ(splitEtcdEndpoints("http://127.0.0.1:2379"),
            (std::vector<std::string>{"http://127.0.0.1:2379"}));
  EXPECT_EQ(splitEtcdEndpoints(" http://a:1, http://b:2 ,,http://c:3,"),
            (std::vector<std::string>{"http://a:1", "http://b:2", "http://c:3"}));
  EXPECT_TRUE(splitEtcdEndpoints("").empty());
}

TEST(EtcdEndpoints, RejectsWhatItCannotUse) {
  auto openWith = [](std::vector<std::string> endpoints) {
    EtcdStoreOptions options;
    options.endpoints = std::move(endpoints);
    return openEtcdStore(options);
  };
  EXPECT_THROW(openWith({}), std::invalid_argument);
  EXPECT_THROW(openWith({"http://127.0.0.1"}), std::invalid_argument);
  EXPECT_THROW(openWith({"http://127.0.0.1:port"}), std::invalid_argument);
  EXPECT_THROW(openWith({"unix:///run/etcd.sock"}), std::invalid_argument);
  try {
    openWith({"http://127.0.0.1:1", "https://127.0.0.1:2"});
    ADD_FAILURE() << "https accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("https://127.0.0.1:2"), std::string::npos)
        << error.what();
  }
  EXPECT_NE(openWith({"http://127.0.0.1:1/", "127.0.0.1:2"}), nullptr);
}

TEST(EtcdStore, UnreachableMembersAreUnavailableNamingEachEndpoint) {
  // Ports of members that were just killed: nothing listens there any more.
  std::vector<std::string> endpoints;
  {
    EtcdTestCluster cluster(1);
    endpoints = cluster.clientUrls();
  }
  endpoints.emplace_back("http://127.0.0.1:9");
  EtcdStoreOptions options;
  options.endpoints = endpoints;
  options.requestTimeout = std::chrono::milliseconds(1500);
  auto store = openEtcdStore(options);
  const StoreError error = storeErrorOf([&] { store->get("/k"); });
  EXPECT_EQ(error.code(), StoreErrorCode::kUnavailable);
  const std::string message = error.what();
  EXPECT_NE(message.find(endpoints[0]), std::string::npos) << message;
  EXPECT_NE(message.find("http://127.0.0.1:9"), std::string::npos) << message;
  EXPECT_NE(message.find("Range"), std::string::npos) << message;
  // Writes and watches fail the same way.
  EXPECT_EQ(storeErrorOf([&] { store->create("/k", "v"); }).code(), StoreErrorCode::kUnavailable);
  EXPECT_EQ(storeErrorOf([&] { store->watch("/", 0, {}); }).code(), StoreErrorCode::kUnavailable);
}

TEST(EtcdStore, TooLargeValueIsTooLargeWithEtcdsWords) {
  EtcdTestCluster cluster(1);
  EtcdStoreOptions options;
  options.endpoints = cluster.clientUrls();
  auto store = openEtcdStore(options);
  // etcd's default request limit is 1.5 MiB.
  const StoreError error =
      storeErrorOf([&] { store->create("/big", std::string(std::size_t{3} * 1024 * 1024, 'x')); });
  EXPECT_EQ(error.code(), StoreErrorCode::kTooLarge) << error.what();
  EXPECT_NE(std::string(error.what()).find(cluster.clientUrl(0)), std::string::npos)
      << error.what();
  EXPECT_FALSE(store->get("/big").has_value());
}

TEST(EtcdStore, FutureRevisionAndCompactedReadsNameTheEndpoint) {
  EtcdTestCluster cluster(1);
  EtcdStoreOptions options;
  options.endpoints = cluster.clientUrls();
  auto store = openEtcdStore(options);
  const Revision first = store->create("/a", "1").revision;
  store->update("/a", "2", first);
  store->compact(store->currentRevision());
  RangeRequest request;
  request.revision = first;
  const StoreError compacted = storeErrorOf([&] { store->range(request); });
  EXPECT_EQ(compacted.code(), StoreErrorCode::kCompacted);
  EXPECT_NE(std::string(compacted.what()).find("compacted"), std::string::npos);
  EXPECT_NE(std::string(compacted.what()).find(cluster.clientUrl(0)), std::string::npos);
  // Compacting again at or below the compaction point changes nothing.
  EXPECT_NO_THROW(store->compact(first));
  request.revision = store->currentRevision() + 5;
  EXPECT_EQ(storeErrorOf([&] { store->range(request); }).code(), StoreErrorCode::kFutureRevision);
  EXPECT_EQ(storeErrorOf([&] { store->compact(store->currentRevision() + 5); }).code(),
            StoreErrorCode::kFutureRevision);
}

// What kite writes is plain etcd data: another etcd client sees the prefixed key with the
// same revisions, and kite sees what that client writes.
TEST(EtcdStore, InteroperatesWithOtherEtcdClients) {
  EtcdTestCluster cluster(1);
  EtcdStoreOptions options;
  options.endpoints = cluster.clientUrls();
  options.keyPrefix = "/registry";
  auto store = openEtcdStore(options);
  const WriteResult created = store->create("/pods/default/a", "pod-a");
  ASSERT_TRUE(created.succeeded);

  auto channel =
      grpc::CreateChannel(cluster.clientUrl(0).substr(7), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  {
    grpc::ClientContext context;
    etcdserverpb::RangeRequest request;
    request.set_key("/registry/pods/default/a");
    etcdserverpb::RangeResponse response;
    ASSERT_TRUE(kv->Range(&context, request, &response).ok());
    ASSERT_EQ(response.kvs_size(), 1);
    EXPECT_EQ(response.kvs(0).value(), "pod-a");
    EXPECT_EQ(response.kvs(0).mod_revision(), created.revision);
    EXPECT_EQ(response.kvs(0).create_revision(), created.revision);
  }
  Revision put = 0;
  {
    grpc::ClientContext context;
    etcdserverpb::PutRequest request;
    request.set_key("/registry/pods/default/b");
    request.set_value("pod-b");
    etcdserverpb::PutResponse response;
    ASSERT_TRUE(kv->Put(&context, request, &response).ok());
    put = response.header().revision();
  }
  {
    grpc::ClientContext context;
    etcdserverpb::PutRequest request;
    request.set_key("/registryx/outside");
    request.set_value("x");
    etcdserverpb::PutResponse response;
    ASSERT_TRUE(kv->Put(&context, request, &response).ok());
  }
  const auto b = store->get("/pods/default/b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->value, "pod-b");
  EXPECT_EQ(b->modRevision, put);
  // The store's prefix is a plain byte prefix ("/registryx/..." starts with "/registry"
  // too), which is why Kubernetes keys, and kite's, start with a slash.
  RangeRequest all;
  all.prefix = "/";
  const RangeResult everything = store->range(all);
  ASSERT_EQ(everything.items.size(), 2U);
  EXPECT_EQ(everything.items[0].key, "/pods/default/a");
  EXPECT_EQ(everything.items[1].key, "/pods/default/b");
  EXPECT_EQ(store->count("/"), 2);
}

TEST(EtcdStore, CompactedRevisionOfANeverCompactedStoreIsItsFirst) {
  EtcdTestCluster cluster(1);
  EtcdStoreOptions options;
  options.endpoints = cluster.clientUrls();
  auto store = openEtcdStore(options);
  EXPECT_EQ(store->compactedRevision(), 1);
  for (int i = 0; i < 20; ++i) {
    store->create("/k" + std::to_string(i), "v");
  }
  EXPECT_EQ(store->compactedRevision(), 1);
  store->compact(13);
  EXPECT_EQ(store->compactedRevision(), 13);
  // Another client's compaction is seen too (the answer is not only remembered).
  auto other = openEtcdStore(options);
  other->compact(17);
  EXPECT_EQ(store->compactedRevision(), 17);
}

}  // namespace
}  // namespace kite::controlplane
