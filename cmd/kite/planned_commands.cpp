// Subcommands whose implementation arrives with later issues. They exist now so
// that `kite --help` shows the shape of the program, and they fail loudly
// rather than pretend to work.

#include <stdexcept>
#include <string>

#include "commands.h"

namespace kite::cmd {

namespace {
void addPlanned(CLI::App& root, const std::string& name, const std::string& description,
                const std::string& arrivesWith) {
  auto* command = root.add_subcommand(name, description + " [not built yet: " + arrivesWith + "]");
  command->allow_extras();
  command->callback([name, arrivesWith] {
    throw std::runtime_error("`kite " + name + "` is not built yet (" + arrivesWith +
                             "); see README.md for what works today");
  });
}
}  // namespace

void addPlannedCommands(CLI::App& root) {
  addPlanned(root, "proxy", "Run only the Service proxy half of the agent", "proxy issue");
}

}  // namespace kite::cmd
