#include <gtest/gtest.h>

#include "kite/cri/error.h"

namespace kite::cri {
namespace {

TEST(Error, MessageNamesMethodEndpointCodeAndRuntimeText) {
  const Error e("RuntimeService/RunPodSandbox", "unix:///run/c.sock", ErrorCode::kNotFound,
                "image not found");
  EXPECT_STREQ(e.what(),
               "CRI RuntimeService/RunPodSandbox on unix:///run/c.sock failed (NotFound): image "
               "not found");
  EXPECT_TRUE(e.isNotFound());
  EXPECT_FALSE(e.isUnimplemented());
  EXPECT_EQ(e.runtimeMessage(), "image not found");
}

TEST(Error, CodeNamesCoverAllGrpcCodes) {
  EXPECT_STREQ(errorCodeName(ErrorCode::kUnauthenticated), "Unauthenticated");
  EXPECT_STREQ(errorCodeName(ErrorCode::kDeadlineExceeded), "DeadlineExceeded");
  EXPECT_STREQ(errorCodeName(static_cast<ErrorCode>(99)), "Unknown");
}

}  // namespace
}  // namespace kite::cri
