#include "kite/base/clock.h"

namespace kite::base {

const Clock& realClock() {
  static const RealClock clock;
  return clock;
}

}  // namespace kite::base
