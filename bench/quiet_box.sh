#!/usr/bin/env bash
# The generator's fidelity and speed benches in one go, for a machine with cores to spare:
# timing, parity at concurrency 1 (with the paced control) and 4, stagger and capacity. Each bench's
# output lands in OUT_DIR as text, beside a description of the machine.
# Usage: bench/quiet_box.sh OUT_DIR
# Env: PYTHON (python3), ARENA_TOKENIZER_DIR, ARENA_BENCHY_VENV, ARENA_VLLM_VENV,
# ARENA_LLAMA_SERVER (see docs/generator.md, "Benches"); a missing reference tool is skipped.
set -euo pipefail
out="${1:?usage: bench/quiet_box.sh OUT_DIR}"
py="${PYTHON:-python3}"
mkdir -p "$out"
{ date -u; echo "cpus: $(nproc)"; uptime; $py --version; lscpu | grep -E "Model name" || true; } \
  | tee "$out/machine.txt"
$py -m bench.timing --seconds 3 --workers 2 --late 10 | tee "$out/timing.txt"
$py -m bench.parity --server both --rounds 6 --runs 5 --concurrency 1 --num-prompts 128 \
  --output-len 16 | tee "$out/parity-c1.txt"
$py -m bench.capacity | tee "$out/capacity.txt"
$py -m bench.parity --server llama --rounds 4 --concurrency 4 | tee "$out/parity-c4.txt"
$py -m bench.stagger --concurrency 4 | tee "$out/stagger.txt"
