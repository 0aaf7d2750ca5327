#pragma once
// The opaque ?continue= token of a paginated list: the revision the list is read at and the
// last key returned, base64url-encoded. Stale tokens (revision compacted) become 410 Gone.

#include <string>
#include <string_view>

#include "kite/controlplane/store.h"

namespace kite::controlplane::apiserver {

struct ContinueToken {
  Revision revision = 0;
  std::string lastKey;

  std::string encode() const;
  // Throws ApiError 400 for a malformed token.
  static ContinueToken decode(std::string_view token);
};

}  // namespace kite::controlplane::apiserver
