#pragma once
// Helpers shared by the api tests.

#include <rapidjson/document.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace kite::api::testing {

inline std::string readTestdata(const std::string& name) {
  std::ifstream in(std::string(KITE_API_TESTDATA) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether two JSON texts hold the same value (object member order does not matter).
inline bool sameJson(std::string_view a, std::string_view b) {
  rapidjson::Document da;
  rapidjson::Document db;
  da.Parse(a.data(), a.size());
  db.Parse(b.data(), b.size());
  return !da.HasParseError() && !db.HasParseError() && da == db;
}

}  // namespace kite::api::testing
