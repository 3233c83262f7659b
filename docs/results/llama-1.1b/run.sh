#!/usr/bin/env bash
# The llama-1.1b rows, from the repository root, on the lent GPU (one `device` call each):
#   bash docs/results/llama-1.1b/run.sh [setup] [SUITE ...]
# and on the CPU box (after `make install`; OUT is where the results go):
#   BOX=cpu OUT=/tmp/llama-cpu bash docs/results/llama-1.1b/run.sh setup one-model-cpu
# setup on the GPU: the project's wheels in, llama-server built with CUDA
# (scripts/build_llama_server.sh --cuda from the packed source) and installed under /opt/arena,
# the model made (scripts/make_llama_model.py with the tokenizer carried from the CPU box, so
# the files are byte-identical), transformers serve's missing web packages in /opt/arena/tsite;
# on the CPU box: the CPU build and the model. Each step is skipped when already done. SUITE: a file of suites/ without .yaml, submitted
# to a controller and an agent started here (the agent's process runtime starts and stops the
# engine as the policy's recipe, as nobody), then exported to $OUT/results/SUITE.
# .carry/ (ignored by git, named in the call's carry) holds whl/ (the project's runtime wheels
# for CPython 3.12), twhl/ (transformers serve's), llama-src.tar.gz (build_llama_server.sh
# --pack-source) and tokenizer.json. LIMIT (s, default 570) bounds the call: a suite that would
# run past it is cancelled, and what it finished is exported.
set -u
R=docs/results/llama-1.1b
C=$PWD/.carry
BOX=${BOX:-gpu}
T=/tmp/arena-$BOX
START=$(date +%s)
LIMIT=${LIMIT:-570}  # a CPU run sets it higher
left() { echo $((LIMIT - ($(date +%s) - START))); }
mkdir -p "$T" "$OUT/results"
export PYTHONUNBUFFERED=1 ARENA_LOG_FORMAT=json ARENA_STATE_DIR=$T/agent-state
if [ "$BOX" = cpu ]; then
  PY=$PWD/.venv/bin/python
elif [ ! -f "$T/site.done" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$T/site" "$C"/whl/*.whl &&
    touch "$T/site.done"
fi
PY=${PY:-python3}
export PYTHONPATH=$T/site:$PWD/controller:$PWD/agent:$PWD/shared
ctl() { "$PY" -m arena.client.cli --controller 127.0.0.1:50051 "$@"; }

setup_cpu() {
  lscpu | grep -E "Model name|^CPU\(s\)" >> "$OUT/env.txt"
  if [ ! -x /opt/arena/llama-cpu/bin/llama-server ]; then
    local built
    built=$(bash scripts/build_llama_server.sh | tail -1) || exit 1
    mkdir -p /opt/arena/llama-cpu/bin
    cp "$built" /opt/arena/llama-cpu/bin/llama-server
    cp "$(dirname "$built")/../build.json" "$OUT/build.json" 2> /dev/null
    chmod -R a+rX /opt/arena
  fi
  /opt/arena/llama-cpu/bin/llama-server --version >> "$OUT/env.txt" 2>&1
  if [ ! -f /srv/models/llama-1.1b/model.json ]; then
    "$PY" scripts/make_llama_model.py /srv/models/llama-1.1b > "$OUT/model.json" || exit 1
    chmod -R a+rX /srv/models
  fi
  cp /srv/models/llama-1.1b/model.json "$OUT/model.json"
}

setup() {
  [ "$BOX" = cpu ] && { setup_cpu; return; }
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm --format=csv
    nvcc --version | tail -2
    python3 --version
    nproc
  } >> "$OUT/env.txt" 2>&1
  if [ ! -x /opt/arena/llama-cuda/bin/llama-server ]; then
    local built
    built=$(ARENA_CACHE=$T/cache bash scripts/build_llama_server.sh --cuda --cuda-arch 90 \
      --source "$C/llama-src.tar.gz" 2> "$OUT/build.log" | tail -1) || { tail -40 "$OUT/build.log"; exit 1; }
    mkdir -p /opt/arena/llama-cuda/bin
    cp "$built" /opt/arena/llama-cuda/bin/llama-server
    cp "$(dirname "$built")/../build.json" "$OUT/build.json" 2> /dev/null
    chmod -R a+rX /opt/arena
  fi
  # the agent starts engines with PATH only: the CUDA libraries must be on the loader's paths
  local engine_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  if ! env -i PATH=$engine_path /opt/arena/llama-cuda/bin/llama-server --version > /dev/null 2>&1; then
    local libs
    libs=$(dirname "$(ldd /opt/arena/llama-cuda/bin/llama-server | awk '/libcublas\.so/ {print $3}')")
    echo "$libs" > /etc/ld.so.conf.d/arena-cuda.conf && ldconfig
    echo "added $libs to the loader's paths (/etc/ld.so.conf.d/arena-cuda.conf)" >> "$OUT/env.txt"
  fi
  env -i PATH=$engine_path /opt/arena/llama-cuda/bin/llama-server --version >> "$OUT/env.txt" 2>&1
  if [ ! -f /srv/models/llama-1.1b/model.json ]; then
    local started=$(date +%s)
    python3 scripts/make_llama_model.py /srv/models/llama-1.1b --hf --tokenizer "$C/tokenizer.json" \
      > /dev/null 2> "$OUT/model.log" || { tail -20 "$OUT/model.log"; exit 1; }
    echo "model made in $(($(date +%s) - started)) s" >> "$OUT/env.txt"
    chmod -R a+rX /srv/models
  fi
  cp /srv/models/llama-1.1b/model.json "$OUT/model.json"
  if [ ! -d /opt/arena/tsite ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /opt/arena/tsite "$C"/twhl/*.whl
    chmod -R a+rX /opt/arena
  fi
  echo "setup done at $(($(date +%s) - START)) s" >> "$OUT/env.txt"
}

started_arena=""
start_arena() {
  [ -n "$started_arena" ] && return
  "$PY" -m arena.controller.server --listen 127.0.0.1:50051 --data-dir "$T/db" --dashboard off 2> "$OUT/controller.log" &
  controller=$!
  for _ in $(seq 60); do (echo > /dev/tcp/127.0.0.1/50051) 2> /dev/null && break; sleep 0.5; done
  "$PY" -m arena.agent.main --controller 127.0.0.1:50051 --name "$BOX-box" \
    --policy-file "$R/policy-$BOX.yaml" 2> "$OUT/agent.log" &
  started_arena=$!
}

run_suite() {
  local suite=$1 budget run
  budget=$(($(left) - 45))
  if [ "$budget" -lt 60 ]; then
    echo "skipped $suite: $(left) s left" | tee -a "$OUT/env.txt"
    return
  fi
  start_arena
  local started=$(date +%s)
  timeout "$budget" "$PY" -m arena.client.cli --controller 127.0.0.1:50051 submit \
    "$R/suites/$suite.yaml" --watch > "$OUT/$suite-watch.txt" 2>&1
  local code=$?
  echo "$suite: exit $code after $(($(date +%s) - started)) s" | tee -a "$OUT/env.txt"
  run=$(head -1 "$OUT/$suite-watch.txt")
  if [ "$code" = 124 ]; then
    ctl cancel "$run" >> "$OUT/env.txt" 2>&1
    sleep 5
  fi
  ctl export "$run" "$OUT/results/$suite" >> "$OUT/env.txt" 2>&1
  ctl show "$run" > "$OUT/$suite-show.txt" 2>&1
  tail -25 "$OUT/$suite-show.txt"
}

for step in "$@"; do
  if [ "$step" = setup ]; then setup; else run_suite "$step"; fi
done
if [ -n "$started_arena" ]; then
  kill -TERM "$started_arena"
  sleep 3
  kill -TERM "$controller"
fi
cat "$OUT/env.txt"
