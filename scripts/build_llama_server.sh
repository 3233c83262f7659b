#!/usr/bin/env bash
# Build llama.cpp's llama-server once per machine from the llama.cpp tree vendored in PyPI's
# llama-cpp-python sdist (no other source is reachable here). 10-25 min on 2 cores, so the
# result is cached under ~/.cache/arena and later calls return at once. Prints the binary path.
set -euo pipefail
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${ARENA_CACHE:-$HOME/.cache/arena}"
PREFIX="$CACHE/llama-server-$VERSION"
BIN="$PREFIX/bin/llama-server"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

PIP="${PIP:-python3 -m pip}"
WORK="$CACHE/build-llama-$VERSION"
mkdir -p "$WORK"
SDIST="$WORK/llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$SDIST" ]; then
  $PIP download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK" >&2
fi
rm -rf "$WORK/src" && mkdir -p "$WORK/src"
tar -xzf "$SDIST" -C "$WORK/src" --strip-components=1
SRC="$WORK/src/vendor/llama.cpp"
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
      -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$WORK/build" --target llama-server -j "$(nproc)" >&2
mkdir -p "$PREFIX/bin"
cp "$WORK/build/bin/llama-server" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
rm -rf "$WORK/src" "$WORK/build"
echo "$BIN"
