#!/usr/bin/env bash
# Issue 24 on a real GPU: the recipe's server flags (A) and a candidate fix (B), same suite.
export SUITE=$PWD/.carry/repro2.yaml
bash .carry/gpu_run.sh A-np10 -c 262144 -np 10
bash .carry/gpu_run.sh B-unified -c 262144 -np 10 --kv-unified --cache-ram 0
