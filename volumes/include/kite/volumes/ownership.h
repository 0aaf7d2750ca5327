#pragma once
// fsGroup: hand a volume's files to the pod's supplemental group, as upstream's
// SetVolumeOwnership does. Every file and directory below dir (dir included)
// gets group fsGroup; regular files and directories also gain group read (and
// write unless readOnly), directories gain the setgid bit and group/other
// search permission so new files inherit the group. Symlinks get the group
// but never a chmod, which would change their targets.

#include <sys/types.h>

#include <string>

namespace kite::volumes {

void setVolumeOwnership(const std::string& dir, gid_t fsGroup, bool readOnly);

}  // namespace kite::volumes
