#!/usr/bin/env bash
# Build the local base images the Arena images start from when no registry is reachable:
# a Debian bookworm minbase root filesystem made with debootstrap, imported into Docker.
#
#   arena-base:bookworm           python3 + venv (controller and agent images)
#   arena-postgres-base:bookworm  Debian's postgresql-15 (the compose file's database)
#
# The root filesystems are cached as tarballs under ~/.cache/arena/rootfs, so only the first
# run downloads packages (a few minutes); later runs only `docker import` them (seconds).
# Needs root and debootstrap (apt-get install debootstrap).
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${ARENA_CACHE_DIR:-$HOME/.cache/arena}/rootfs
mkdir -p "$CACHE"

# rootfs NAME PACKAGES: the cached tarball of a minbase bookworm with PACKAGES installed.
rootfs() {
  local name=$1 packages=$2 tarball="$CACHE/$1.tar"
  if [ ! -s "$tarball" ]; then
    local dir
    dir=$(mktemp -d "$CACHE/.$name.XXXXXX")
    echo "debootstrap $name ($packages) into $dir" >&2
    debootstrap --variant=minbase --include="$packages" bookworm "$dir" "$MIRROR" >&2
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
    tar -C "$dir" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

# import TAG TARBALL CHANGES...: the tarball as a Docker image, unless the tag already exists.
import() {
  local tag=$1 tarball=$2
  shift 2
  if docker image inspect "$tag" >/dev/null 2>&1; then
    return
  fi
  docker import "$@" "$tarball" "$tag" >/dev/null
  echo "imported $tag" >&2
}

ENV_CHANGES=(--change 'ENV LANG=C.UTF-8' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
import arena-base:bookworm "$(rootfs python3 python3,python3-venv,ca-certificates)" \
  "${ENV_CHANGES[@]}" --change 'CMD ["python3"]'
import arena-postgres-base:bookworm "$(rootfs postgresql postgresql-15,ca-certificates)" \
  "${ENV_CHANGES[@]}" --change 'CMD ["bash"]'
