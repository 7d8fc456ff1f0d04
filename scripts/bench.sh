#!/usr/bin/env bash
# Reproduces the numbers in BENCHMARKS.md (issue 2's part): end-to-end vs
# inference-only fps, and peak RSS for 100 vs 1000 frames. Run after
# scripts/setup.sh; needs ../shared (clips and models). Writes out/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VIDNST_SHARED:-../shared}
export VIDNST_MODEL_DIR=${VIDNST_MODEL_DIR:-$shared/models}
car=$shared/videos/car-detection.mp4
mkdir -p out/bench
command -v /usr/bin/time >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -q time >/dev/null; }

echo "== efficiency: car clip, candy, 384x216, 2 threads, 120 frames: issue 2's pipeline at 384x216 end to end; temporal off and default at the input size"
bin/vidnst bench "$car" --style candy --max-side 384 --threads 2 --bench-frames 120 --repeats 5 --temporal off --output-size processing
bin/vidnst bench "$car" --style candy --max-side 384 --threads 2 --bench-frames 120 --repeats 3 --temporal off
bin/vidnst bench "$car" --style candy --max-side 384 --threads 2 --bench-frames 120 --repeats 3

echo "== peak RSS: 100 vs 1000 frames (car clip looped 3x), candy at 192x108, 2 threads"
long=out/bench/car-x3.mp4
[ -f "$long" ] || ffmpeg -v error -y -stream_loop 2 -i "$car" -c copy "$long"
for n in 100 1000; do
  /usr/bin/time -f "frames=$n peak_rss_kib=%M wall_s=%e" \
    bin/vidnst "$long" out/bench/rss-$n.mp4 --style candy --max-side 192 --threads 2 --frames 0-$((n-1)) -y --progress none
done

echo "== preview cost vs position: 2 s previews at the start and the end of a 5-minute clip (car looped 10x), candy 384x216"
five=out/bench/car-x10.mp4
[ -f "$five" ] || ffmpeg -v error -y -stream_loop 9 -i "$car" -c copy "$five"
for start in 5 290; do
  for rep in 1 2 3; do
    /usr/bin/time -f "start=${start}s wall_s=%e" bin/vidnst "$five" out/bench/preview-$start.mp4 --style candy --max-side 384 --threads 2 --start $start --duration 2 -y --progress none -q
  done
done
