#include "kite/volumes/atomic_writer.h"
#include "kite/volumes/error.h"

namespace kite::volumes {

namespace {
std::string missingKeyMessage(PayloadSource source, const std::string& key) {
  switch (source) {
    case PayloadSource::kConfigMap:
      return "configmap references non-existent config key: " + key;
    case PayloadSource::kSecret:
      return "references non-existent secret key: " + key;
  }
  return "references non-existent key: " + key;
}
}  // namespace

Payload makePayload(const std::map<std::string, std::string>& data,
                    const std::vector<KeyToPath>& items, std::uint32_t defaultMode, bool optional,
                    PayloadSource source) {
  Payload payload;
  if (items.empty()) {
    for (const auto& [key, value] : data) {
      payload[key] = FileProjection{value, defaultMode, std::nullopt};
    }
    return payload;
  }
  for (const auto& item : items) {
    const auto it = data.find(item.key);
    if (it == data.end()) {
      if (optional) {
        continue;
      }
      throw VolumeError(Reason::kNotFound, missingKeyMessage(source, item.key));
    }
    payload[item.path] = FileProjection{it->second, item.mode.value_or(defaultMode), std::nullopt};
  }
  return payload;
}

}  // namespace kite::volumes
