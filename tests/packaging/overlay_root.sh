# shellcheck shell=bash
# Sourced by the package install tests (deb_install_test.sh, deb_cluster_test.sh): a throw-away
# root made of the host's own Debian, for dpkg and apt to install into without touching the host.
#
# In a private mount namespace (unshare --mount --propagation private), an overlayfs whose lower
# layer is the host's / and whose upper layer is a tmpfs is mounted and used as a chroot. Every
# write (dpkg's database, the packages' files, /etc, /var/lib) lands in the tmpfs, which goes
# away with the namespace. The chroot gets a fresh /proc and empty /run and /tmp, so no systemd
# runs there (no /run/systemd/system), as in any chroot or image build. The upper layer shows
# afterwards exactly what was left behind.

# overlay_root_up LAYERS: mounts the root at LAYERS/root (LAYERS: an empty folder) and sets
# overlay_root and overlay_upper.
overlay_root_up() {
  local layers=$1
  mount -t tmpfs -o mode=0700 kite-overlay-root "$layers"
  mkdir "$layers/upper" "$layers/work" "$layers/root"
  overlay_root=$layers/root
  overlay_upper=$layers/upper
  mount -t overlay overlay -o "lowerdir=/,upperdir=$layers/upper,workdir=$layers/work" \
    "$overlay_root"
  mount -t proc proc "$overlay_root/proc"
  mount --rbind /dev "$overlay_root/dev"
  mount --rbind /sys "$overlay_root/sys" # containerd reads the cgroup mode; runc makes cgroups
  mount -t tmpfs run "$overlay_root/run" # no /run/systemd/system: systemd is not running
  mount -t tmpfs tmp "$overlay_root/tmp"
}

# overlay_root_down: unmounts everything below the root and the root itself; the upper layer
# stays for overlay_root_kite_files and overlay_root_deleted_files.
overlay_root_down() {
  umount -R "$overlay_root"
}

# The upper layer's paths that are bookkeeping of dpkg and apt, or mount points' contents.
overlay_root_prune=(-path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/log
  -o -path ./var/cache -o -path ./tmp -o -path ./run -o -path ./proc -o -path ./sys -o -path ./dev)

# overlay_root_kite_files: prints every path in the upper layer with "kite" in its name.
overlay_root_kite_files() {
  (
    cd "$overlay_upper" || exit 1
    find . -mindepth 1 \( "${overlay_root_prune[@]}" \) -prune -o -print | grep -i kite || true
  )
}

# overlay_root_deleted_files: prints the host's files deleted in the root (overlayfs whiteouts),
# outside dpkg's and apt's bookkeeping.
overlay_root_deleted_files() {
  (
    cd "$overlay_upper" || exit 1
    find . \( "${overlay_root_prune[@]}" \) -prune -o -type c -print
  )
}
