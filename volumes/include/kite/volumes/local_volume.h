#pragma once
// Local PersistentVolumes: a disk or directory of this node, named by path.
// Before the kubelet bind-mounts one for a pod it checks the path is what the
// PersistentVolume's volumeMode needs, and (node_affinity.h) that the
// volume's node affinity admits this node.

#include <string>

namespace kite::volumes {

enum class VolumeMode { kFilesystem, kBlock };

// Filesystem needs a directory, Block a block device. Symlinks are followed.
// Throws kInvalid (empty path, ".." in it), kNotFound ("path \"/x\" does not
// exist"), kTypeMismatch for the wrong kind of file, and kNotSupported for a
// block device in Filesystem mode: upstream formats and mounts the device,
// which kite does not do yet.
void checkLocalVolume(const std::string& path, VolumeMode mode);

}  // namespace kite::volumes
