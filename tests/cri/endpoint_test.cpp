// The client must fail clearly and quickly on endpoints that cannot work:
// missing, not a socket, nobody listening, or a listener that never answers.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "kite/cri/endpoint.h"
#include "kite/cri/error.h"
#include "kite/cri/grpc_client.h"

namespace kite::cri {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "kite-endpoint-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

// A unix socket bound at `path`; listening or not, as the test needs.
class UnixSocket {
 public:
  UnixSocket(const fs::path& path, bool listen) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    if (listen) {
      EXPECT_EQ(::listen(fd_, 8), 0);
    }
  }
  ~UnixSocket() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Error errorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a cri::Error";
  return Error("", "", ErrorCode::kOk, "");
}

TEST(Endpoint, AcceptsUnixUriAndBarePath) {
  TempDir dir;
  UnixSocket socket(dir.path() / "cri.sock", false);
  const auto fromUri = parseEndpoint("unix://" + (dir.path() / "cri.sock").string());
  EXPECT_EQ(fromUri.socketPath, dir.path() / "cri.sock");
  const auto fromPath = parseEndpoint((dir.path() / "cri.sock").string());
  EXPECT_EQ(fromPath.uri, "unix://" + (dir.path() / "cri.sock").string());
}

TEST(Endpoint, EmptyNamesTheFlag) {
  const auto e = errorOf([] { parseEndpoint(""); });
  EXPECT_NE(std::string(e.what()).find("--container-runtime-endpoint"), std::string::npos);
}

TEST(Endpoint, RejectsOtherSchemes) {
  const auto e = errorOf([] { parseEndpoint("tcp://127.0.0.1:1234"); });
  EXPECT_NE(std::string(e.what()).find("unsupported scheme \"tcp\""), std::string::npos);
  EXPECT_EQ(e.endpoint(), "tcp://127.0.0.1:1234");
}

TEST(Endpoint, RejectsRelativePaths) {
  const auto e = errorOf([] { parseEndpoint("unix://run/containerd.sock"); });
  EXPECT_NE(std::string(e.what()).find("absolute"), std::string::npos);
}

TEST(Endpoint, MissingSocketSaysSo) {
  const auto e = errorOf([] { parseEndpoint("unix:///nonexistent/kite/cri.sock"); });
  EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos);
  EXPECT_EQ(e.method(), "connect");
}

TEST(Endpoint, RegularFileIsNotASocket) {
  TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  const auto e = errorOf([&] { parseEndpoint((dir.path() / "file").string()); });
  EXPECT_NE(std::string(e.what()).find("is not a unix socket"), std::string::npos);
}

TEST(Client, NobodyListeningFailsFastAsUnavailable) {
  TempDir dir;
  UnixSocket socket(dir.path() / "dead.sock", false);  // bound, never listening
  ClientOptions options;
  options.endpoint = "unix://" + (dir.path() / "dead.sock").string();
  options.requestTimeout = 10s;
  auto client = connect(options);
  const auto start = std::chrono::steady_clock::now();
  const auto e = errorOf([&] { client.runtime->version(); });
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
  EXPECT_EQ(e.method(), "RuntimeService/Version");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Client, SilentListenerHitsTheDeadlineNotAHang) {
  TempDir dir;
  UnixSocket socket(dir.path() / "silent.sock", true);  // accepts, never speaks gRPC
  ClientOptions options;
  options.endpoint = "unix://" + (dir.path() / "silent.sock").string();
  options.requestTimeout = 500ms;
  auto client = connect(options);
  const auto start = std::chrono::steady_clock::now();
  const auto e = errorOf([&] { client.images->listImages(); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.code(), ErrorCode::kDeadlineExceeded) << e.what();
  EXPECT_NE(std::string(e.what()).find("ImageService/ListImages"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("500ms"), std::string::npos);
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 5s);
}

}  // namespace
}  // namespace kite::cri
