// The Maglev table of the eBPF dataplane's consistent hashing: shares within one entry of each
// other, every entry owned, the same table for the same backends, and few entries of the
// remaining backends moved when one goes. Pure computation, no kernel.

#include "kite/ebpf/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kite/ebpf/maps.h"

namespace kite::ebpf {
namespace {

std::vector<std::string> backends(int n, int skip = -1) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    if (i != skip) names.push_back("10.42." + std::to_string(i + 1) + ".2:8080");
  }
  return names;
}

TEST(Maglev, EveryBackendOwnsAnEqualShareWithinOneEntry) {
  for (const int n : {1, 2, 3, 7, 50}) {
    SCOPED_TRACE(n);
    const auto table = maglevTable(backends(n), KITE_MAGLEV_SIZE);
    ASSERT_EQ(table.size(), static_cast<std::size_t>(KITE_MAGLEV_SIZE));
    std::map<uint32_t, int> shares;
    for (const uint32_t owner : table) {
      ASSERT_LT(owner, static_cast<uint32_t>(n));
      ++shares[owner];
    }
    ASSERT_EQ(shares.size(), static_cast<std::size_t>(n));
    const auto [low, high] =
        std::minmax_element(shares.begin(), shares.end(),
                            [](const auto& a, const auto& b) { return a.second < b.second; });
    EXPECT_LE(high->second - low->second, 1);
  }
}

TEST(Maglev, TheSameBackendsGiveTheSameTable) {
  EXPECT_EQ(maglevTable(backends(5), KITE_MAGLEV_SIZE), maglevTable(backends(5), KITE_MAGLEV_SIZE));
  EXPECT_NE(maglevTable(backends(5), KITE_MAGLEV_SIZE), maglevTable(backends(6), KITE_MAGLEV_SIZE));
}

// A removed backend's entries go to the others; the others keep nearly all of theirs (random
// choice per entry would keep about 1/n of them).
TEST(Maglev, RemovingABackendMovesFewEntriesOfTheOthers) {
  for (const int n : {3, 10, 40}) {
    SCOPED_TRACE(n);
    const auto all = backends(n);
    const auto before = maglevTable(all, KITE_MAGLEV_SIZE);
    const int removed = n / 2;
    const auto rest = backends(n, removed);
    const auto after = maglevTable(rest, KITE_MAGLEV_SIZE);
    int kept = 0;
    int others = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (static_cast<int>(before[i]) == removed) continue;
      ++others;
      if (rest[after[i]] == all[before[i]]) ++kept;
    }
    EXPECT_GE(kept * 100, others * 90) << kept << " of " << others << " entries kept";
  }
}

TEST(Maglev, NoBackendsNoTable) {
  EXPECT_TRUE(maglevTable({}, KITE_MAGLEV_SIZE).empty());
  EXPECT_THROW(maglevTable(backends(3), 3), std::invalid_argument);
}

}  // namespace
}  // namespace kite::ebpf
