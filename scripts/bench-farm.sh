#!/usr/bin/env bash
# Farm numbers for BENCHMARKS.md: a 4-chunk render of the car clip through
# the local Slurm cluster (2 tasks at a time, 1 inference thread each) versus
# one local render (2 threads), the warm-up overhead and the merge time.
# Needs a running cluster (../shared/slurm/start-local-slurm.sh) and bin/vidnst.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VIDNST_SHARED:-../shared}
export VIDNST_MODEL_DIR=${VIDNST_MODEL_DIR:-$shared/models}
car=$(realpath "$shared/videos/car-detection.mp4")
side=${SIDE:-384}
d=$(realpath -m out/bench/farm); rm -rf "$d"; mkdir -p "$d"
bin/vidnst plan "$car" --style candy --max-side "$side" --chunks 4 -o "$d/plan.json"
t0=$(date +%s.%N)
bin/vidnst farm slurm --plan "$d/plan.json" --output "$d/merged.mp4" --bin "$(realpath bin/vidnst)" \
  --cpus-per-task 1 --render-arg=--threads --render-arg=1 --submit --wait
t1=$(date +%s.%N)
grep -h "warm-up" "$d"/*.log 2>/dev/null | sed 's/^/  /' || true
grep -h "merged" "$d"/*.log 2>/dev/null | sed 's/^/  /' || true
bin/vidnst "$car" "$d/single.mp4" --style candy --max-side "$side" --threads 2 --temporal blend --temporal-weight 0.8 -y --progress none
t2=$(date +%s.%N)
echo "farm (4 chunks, slurm, 2 x 1 thread): $(echo "$t1 - $t0" | bc) s; single local render (2 threads): $(echo "$t2 - $t1" | bc) s"
ffmpeg -v error -i "$d/merged.mp4" -i "$d/single.mp4" -lavfi "[0:v][1:v]psnr=stats_file=$d/psnr.txt" -f null -
python3 - "$d" <<'PY'
import json, sys, re
d = sys.argv[1]
plan = json.load(open(d + "/plan.json"))
psnr = [float(re.search(r"psnr_avg:(\S+)", l).group(1)) for l in open(d + "/psnr.txt")]
starts = [c["start"] for c in plan["chunks"][1:]]
near = [psnr[k] for s in starts for k in range(s - 2, s + 3)]
print(f"chunk starts {starts}, warm-up {plan['warm_up']} frames/chunk; min PSNR within 2 frames of a boundary {min(near):.1f} dB; min over all frames {min(psnr):.1f} dB")
PY
