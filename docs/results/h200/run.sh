#!/usr/bin/env bash
# The H200 row, in one device call: wheels in, models built, controller + agent started, the
# agent's process runtime starts and stops `transformers serve`, results out to $OUT.
# Run from the repository root with the wheels of docs/results/README.md in .whl/ (the module
# paths are today's; the committed results were made when they were controller.server etc.):
#   bash docs/results/h200/run.sh SUITE.yaml [SUITE.yaml ...]
set -u
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/controller:$PWD/agent:$PWD/shared ARENA_LOG_FORMAT=json ARENA_STATE_DIR=/tmp/agent-state
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv > "$OUT/env.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' >> "$OUT/env.txt"
python3 scripts/make_hf_model.py /tmp/llama-1b >> "$OUT/env.txt" 2>&1
if grep -q llama-small "$@"; then
  python3 scripts/make_hf_model.py /tmp/llama-small --hidden 256 --layers 4 --heads 4 --kv-heads 4 --vocab 8000 >> "$OUT/env.txt" 2>&1
fi
python3 -m arena.controller.server --listen 127.0.0.1:50051 --data-dir /tmp/arena-db 2> /tmp/controller.log &
CONTROLLER=$!
sleep 3
python3 -m arena.agent.main --controller 127.0.0.1:50051 --name h200 \
  --policy-file docs/results/agent-policy.yaml 2> /tmp/agent.log &
AGENT=$!
ctl() { python3 -m arena.client.cli --controller 127.0.0.1:50051 "$@"; }
for suite in "$@"; do  # each suite file, in order, with its wall time
  name=$(basename "$suite" .yaml)
  started=$(date +%s)
  timeout 400 python3 -m arena.client.cli --controller 127.0.0.1:50051 submit "$suite" --watch > "$OUT/$name-watch.txt" 2>&1
  echo "$name wall s: $(( $(date +%s) - started ))" >> "$OUT/env.txt"
done
ctl runs -o json > "$OUT/runs.json"
kill -TERM $AGENT; sleep 2; kill -TERM $CONTROLLER; wait $CONTROLLER
python3 -c "import sqlite3; sqlite3.connect('/tmp/arena-db/arena.db').execute(\"VACUUM INTO '$OUT/arena-h200.db'\")"
{ tail -40 /tmp/agent.log; echo ---; tail -20 /tmp/controller.log; } > "$OUT/logs.txt"
ls -la "$OUT"
