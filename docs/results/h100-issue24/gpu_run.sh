#!/usr/bin/env bash
# One device call: install wheels, build llama-server (CUDA) once per warm machine, make the
# model once, then serve it with the flags given and run the suite. $1 = label, rest = server flags.
set -uo pipefail
LABEL="$1"; shift
C=${CARRY:-$PWD/.carry}; T=${TMPDIR:-/tmp}/arena-gpu; mkdir -p "$T"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$T/site" $C/whl/*.whl >/dev/null 2>&1 || true
export PYTHONPATH=$T/site:$PWD/shared:$PWD/controller:$PWD/agent PYTHONUNBUFFERED=1
if [ ! -x "$T/build/bin/llama-server" ]; then
  rm -rf "$T/src" && mkdir -p "$T/src" && tar -xzf $C/llama-src.tar.gz -C "$T/src"
  s=$(date +%s)
  cmake -S "$T/src/llama.cpp" -B "$T/build" -G Ninja -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF -DCMAKE_BUILD_TYPE=Release > $OUT/cmake.log 2>&1
  cmake --build "$T/build" --target llama-server -j 16 >> $OUT/cmake.log 2>&1 || { tail -50 $OUT/cmake.log; exit 1; }
  echo "BUILD_S $(( $(date +%s) - s ))"
fi
if [ ! -f "$T/model/model.gguf" ]; then
  GGUF_PY="$T/src/llama.cpp/gguf-py" python3 $C/make_gguf.py "$T/model" 2048 16 32 8 8192 32000 > $OUT/model.log 2>&1 || { tail -30 $OUT/model.log; exit 1; }
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv
"$T/build/bin/llama-server" -m "$T/model/model.gguf" -ngl 99 --host 127.0.0.1 --port 8000 --metrics "$@" > $OUT/server-$LABEL.log 2>&1 &
SP=$!
for i in $(seq 120); do curl -sf http://127.0.0.1:8000/health >/dev/null && break; sleep 1; done
python3 $C/gpu_bench.py http://127.0.0.1:8000 ${SUITE:-$C/repro.yaml} $OUT "$LABEL" 2>&1 | grep -v "^\s*$" | tail -60
kill $SP; wait $SP 2>/dev/null
cd $OUT && tar -czf $LABEL.tgz $LABEL $LABEL.show.json server-$LABEL.log 2>/dev/null && rm -rf $LABEL server-$LABEL.log
