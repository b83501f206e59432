#!/usr/bin/env bash
# The checks a lent GPU machine runs in one go (about 10 minutes on an H200, start-up aside); each writes into
# ${OUT:-gpu-results}/. benchmarks/cuda_check.py: every technique and precision on CUDA, and the device syncs inside
# training batches; benchmarks/end_to_end.py --device cuda: train.py against the plain loop in fp32, bf16-mixed and
# compiled. The W&B logger needs its wheels carried; without W&B, train.py runs with logger=csv.
set -u
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} GANKIT_CACHE=${GANKIT_CACHE:-/tmp/gankit-cache}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"; } \
  2>&1 | tee "$out/machine.txt"
timeout "${CHECK_S:-150}" python3 benchmarks/cuda_check.py --batches 20 2>&1 | tee "$out/cuda_check.txt"
timeout "${FP32_S:-260}" python3 benchmarks/end_to_end.py --device cuda --protocols ring,pacgan_grid,digits \
  --pairs 2 --scale 2 2>&1 | tee "$out/end_to_end_fp32.txt"
timeout "${MIXED_S:-170}" python3 benchmarks/end_to_end.py --device cuda --protocols digits \
  --variants bf16,bf16-compile --pairs 1 --scale 3 2>&1 | tee "$out/end_to_end_mixed.txt"
