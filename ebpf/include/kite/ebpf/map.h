#pragma once
// A typed view of one BPF map (not owning its descriptor): keys and values are the structs of
// kite/ebpf/maps.h, so a layout is written down once for the programs and for userspace.
//
//   ebpf::Map<kite_service_key, kite_service_value> services = lb.services();
//   services.put(key, value);
//   for (const auto& key : services.keys()) services.erase(key);

#include <optional>
#include <string>
#include <vector>

namespace kite::ebpf {

namespace detail {
// Raw element calls on a map descriptor; `name` only makes errors readable. put, erase and
// lookup throw std::system_error on failures other than "no such element".
void put(int fd, const std::string& name, const void* key, const void* value);
bool erase(int fd, const std::string& name, const void* key);  // false: was not there
bool lookup(int fd, const std::string& name, const void* key, void* value);
// Every key, in the kernel's iteration order; keySize bytes each.
std::vector<std::vector<unsigned char>> keys(int fd, const std::string& name, std::size_t keySize);
}  // namespace detail

template <typename Key, typename Value>
class Map {
 public:
  Map(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  void put(const Key& key, const Value& value) { detail::put(fd_, name_, &key, &value); }
  bool erase(const Key& key) { return detail::erase(fd_, name_, &key); }
  std::optional<Value> get(const Key& key) const {
    Value value{};
    if (!detail::lookup(fd_, name_, &key, &value)) return std::nullopt;
    return value;
  }
  std::vector<Key> keys() const {
    std::vector<Key> out;
    for (const auto& raw : detail::keys(fd_, name_, sizeof(Key))) {
      Key key{};
      std::copy(raw.begin(), raw.end(), reinterpret_cast<unsigned char*>(&key));
      out.push_back(key);
    }
    return out;
  }
  const std::string& name() const { return name_; }

 private:
  int fd_;
  std::string name_;
};

}  // namespace kite::ebpf
