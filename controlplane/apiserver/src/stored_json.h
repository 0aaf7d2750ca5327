#pragma once
// Objects are stored as their canonical JSON without metadata.resourceVersion: the version is
// the store revision that wrote them, put back into the text when the object is read. This
// keeps a read a string splice instead of a parse and an encode.

#include <string>
#include <string_view>

#include "kite/controlplane/store.h"

namespace kite::controlplane::apiserver {

// Inserts "resourceVersion":"<rv>" as the first member of the top-level "metadata" object.
// Expects the canonical form the encoder writes (apiVersion, kind, then metadata); falls back
// to adding a metadata object when there is none.
std::string withResourceVersion(std::string_view json, Revision rv);

// The same, appended to out (no temporary copy: lists append thousands of these).
void appendWithResourceVersion(std::string& out, std::string_view json, Revision rv);

// A random RFC 4122 version 4 UUID, as upstream's metadata.uid.
std::string newUid();

}  // namespace kite::controlplane::apiserver
