#!/usr/bin/env bash
# Builds the kite Debian packages from a CMake build with dpkg-deb:
#   packaging/deb/build.sh [BUILD_DIR] [OUT_DIR]
# kite        the binary (/usr/bin/kite) and its runtime dependencies
# kite-server the kite-server.service unit (control plane + an agent), started at once
# kite-agent  the kite-agent.service unit, started once /etc/default/kite-agent names the server
# Reproducible: file times are the commit's time (SOURCE_DATE_EPOCH), file order is sorted, owner
# root:root, the binary is stripped; the same build gives the same .deb bytes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build_dir=$(cd "${1:-$source_dir/build}" && pwd)
out_dir=${2:-$build_dir/packages}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

binary=$build_dir/cmd/kite/kite
[[ -x $binary ]] || { echo "build.sh: $binary is missing; build the kite target first" >&2; exit 1; }

# The project's version, from CMakeLists.txt's project(kite VERSION x.y.z); KITE_DEB_VERSION
# overrides it (the install test builds a newer version to upgrade to).
version=${KITE_DEB_VERSION:-$(sed -n 's/^project(kite VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")}
[[ -n $version ]] || { echo "build.sh: no project VERSION in CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$source_dir" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runtime libraries of the binary as package dependencies, the way dpkg-shlibdeps computes them
# for debhelper (it needs a debian/control beside it).
shlib_depends() {
  mkdir -p "$work/shlibs/debian"
  printf 'Source: kite\n\nPackage: kite\nArchitecture: any\n' >"$work/shlibs/debian/control"
  (cd "$work/shlibs" && dpkg-shlibdeps -O "$1" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# install_file SRC DEST MODE: copies one file into a package root.
install_file() {
  install -D -m "$3" "$1" "$2"
}

# A changelog.gz and copyright in /usr/share/doc/<package> (Debian policy 12.5, 12.7).
write_docs() {
  local package=$1 root=$2 doc=$2/usr/share/doc/$1
  mkdir -p "$doc"
  install -m 0644 "$here/copyright" "$doc/copyright"
  sed -e "s/@PACKAGE@/$package/" -e "s/@VERSION@/$version/" \
    -e "s/@DATE@/$(date -u -R -d "@$SOURCE_DATE_EPOCH")/" "$here/changelog.in" |
    gzip -9n >"$doc/changelog.gz"
  chmod 0644 "$doc/changelog.gz"
}

# write_control PACKAGE ROOT ARCH DEPENDS DESCRIPTION-FILE
write_control() {
  local package=$1 root=$2 package_arch=$3 depends=$4
  local size
  size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
  mkdir -p "$root/DEBIAN"
  {
    echo "Package: $package"
    echo "Version: $version"
    echo "Architecture: $package_arch"
    echo "Maintainer: kite developers <kite@example.org>"
    echo "Installed-Size: $size"
    echo "Depends: $depends"
    echo "Section: admin"
    echo "Priority: optional"
    echo "Homepage: https://kite.invalid/"
    cat "$here/$package/description"
  } >"$root/DEBIAN/control"
  for script in postinst prerm postrm conffiles; do
    if [[ -f $here/$package/$script ]]; then
      local mode=0755
      [[ $script == conffiles ]] && mode=0644
      install -m "$mode" "$here/$package/$script" "$root/DEBIAN/$script"
    fi
  done
  chmod 0644 "$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
    xargs -r md5sum) >"$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/md5sums"
}

# build_deb PACKAGE ROOT ARCH: a .deb with sorted members and fixed times.
build_deb() {
  local package=$1 root=$2 package_arch=$3
  find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
  local file=$out_dir/${package}_${version}_${package_arch}.deb
  rm -f "$file"
  # dpkg-deb sorts the members and clamps times to SOURCE_DATE_EPOCH itself (dpkg >= 1.18.11).
  dpkg-deb --root-owner-group -Zxz --build "$root" "$file" >/dev/null
  echo "$file"
}

umask 022

# kite: the binary, stripped as dh_strip does for executables.
root=$work/kite
install_file "$binary" "$root/usr/bin/kite" 0755
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/kite"
install -d -m 0755 "$root/usr/share/man/man1"
gzip -9n <"$here/kite/kite.1" >"$root/usr/share/man/man1/kite.1.gz"
chmod 0644 "$root/usr/share/man/man1/kite.1.gz"
# The example configuration (0600: it may hold the join token) and containerd's configuration
# on a kite node with its CNI template, used through a drop-in of containerd.service.
install_file "$here/kite/config.yaml" "$root/etc/kite/config.yaml" 0600
install_file "$here/kite/containerd/config.toml" "$root/etc/kite/containerd/config.toml" 0644
install_file "$here/kite/containerd/cni.conflist.tmpl" \
  "$root/etc/kite/containerd/cni.conflist.tmpl" 0644
install_file "$here/kite/containerd/containerd.service.d-kite.conf" \
  "$root/lib/systemd/system/containerd.service.d/kite.conf" 0644
write_docs kite "$root"
libs=$(shlib_depends "$root/usr/bin/kite")
write_control kite "$root" "$arch" \
  "$libs, containerd, runc, nftables, containernetworking-plugins, iproute2"
build_deb kite "$root" "$arch"

# kite-server and kite-agent: a unit and its maintainer scripts each.
for package in kite-server kite-agent; do
  root=$work/$package
  install_file "$here/$package/$package.service" "$root/lib/systemd/system/$package.service" 0644
  if [[ $package == kite-agent ]]; then
    install_file "$here/kite-agent/default" "$root/etc/default/kite-agent" 0600
  fi
  write_docs "$package" "$root"
  write_control "$package" "$root" all "kite (= $version)"
  build_deb "$package" "$root" all
done
