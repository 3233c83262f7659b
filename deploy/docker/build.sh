#!/usr/bin/env bash
# Build the Arena images without a registry:
#   arena-controller:local, arena-agent:local, arena-postgres:local
# from the local Debian base (base-image.sh) and a wheelhouse built here on the host, so
# `docker build` needs no network. The host's Python must match the base's (3.11 on bookworm).
#
#   deploy/docker/build.sh            # local base, offline build
#   BASE=python:3.12-slim deploy/docker/build.sh   # where a registry is reachable
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${BASE:-arena-base:bookworm}
TAG=${TAG:-local}
PYTHON=${PYTHON:-python3}
CONTEXT=build/docker
started=$(date +%s)

if [ "$BASE" = arena-base:bookworm ]; then
  bash deploy/docker/base-image.sh
  offline=1
else
  offline=0
fi

rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/wheels"
# the arena wheel and every dependency of the controller and the agent
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$CONTEXT/wheels" '.[agent,controller,postgres]'
cp deploy/docker/Dockerfile.* deploy/docker/postgres-entrypoint.sh "$CONTEXT/"

build() {
  local name=$1
  shift
  docker build --quiet --file "$CONTEXT/Dockerfile.$name" --tag "arena-$name:$TAG" "$@" "$CONTEXT" >/dev/null
  echo "built arena-$name:$TAG" >&2
}
build controller --build-arg BASE="$BASE" --build-arg PIP_NO_INDEX="$offline"
build agent --build-arg BASE="$BASE" --build-arg PIP_NO_INDEX="$offline"
build postgres
echo "images built in $(($(date +%s) - started)) s" >&2
