#!/usr/bin/env bash
# Build llama.cpp's llama-server (CPU by default, --cuda for CUDA) or pack its source
# (--pack-source); --help lists the options. The logic is build_llama_server.py beside this file;
# this name stays the entry point that CI, the tests and the docs call.
here=${BASH_SOURCE[0]%/*}
[ "$here" = "${BASH_SOURCE[0]}" ] && here=.  # called as "build_llama_server.sh", no folder
exec python3 "$here/build_llama_server.py" "$@"
