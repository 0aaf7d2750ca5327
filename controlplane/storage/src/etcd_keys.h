#pragma once
// Key arithmetic for etcd ranges: a range is [key, range_end), where range_end "\0" means
// "every key from key on".

#include <string>
#include <string_view>

#include "etcd/mvccpb/kv.pb.h"
#include "kite/controlplane/store.h"

namespace kite::controlplane::etcd {

// The first key after every key that starts with `prefix`: the prefix with its last byte
// that is not 0xff incremented (and what follows dropped). "\0" when there is none (an
// empty prefix or only 0xff bytes), which etcd reads as "no upper bound".
std::string prefixEnd(std::string_view prefix);

// etcd refuses an empty key; "\0" is the smallest key there can be.
std::string nonEmptyKey(std::string key);

// Converts etcd's record, stripping the store's key prefix.
KeyValue fromEtcd(const mvccpb::KeyValue& kv, std::size_t prefixLength);

}  // namespace kite::controlplane::etcd
