#include "etcd_keys.h"

namespace kite::controlplane::etcd {

std::string prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    const auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string nonEmptyKey(std::string key) {
  if (key.empty()) {
    key.push_back('\0');
  }
  return key;
}

KeyValue fromEtcd(const mvccpb::KeyValue& kv, std::size_t prefixLength) {
  KeyValue out;
  out.key = kv.key().size() >= prefixLength ? kv.key().substr(prefixLength) : kv.key();
  out.value = kv.value();
  out.createRevision = kv.create_revision();
  out.modRevision = kv.mod_revision();
  return out;
}

}  // namespace kite::controlplane::etcd
