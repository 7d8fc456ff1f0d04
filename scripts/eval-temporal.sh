#!/usr/bin/env bash
# Temporal consistency table for BENCHMARKS.md: E_warp and mean gradient
# magnitude of each temporal mode relative to --temporal off, on shared
# clips, candy and mosaic, at 384 px (car) / 320 px (asl). Usage:
#   scripts/eval-temporal.sh [FRAMES] [MODE:WEIGHT ...]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VIDNST_SHARED:-../shared}
export VIDNST_MODEL_DIR=${VIDNST_MODEL_DIR:-$shared/models}
n=${1:-60}; shift || true
cfgs=("$@"); [ ${#cfgs[@]} -gt 0 ] || cfgs=(blend:0.9 blend:1 gradient:0.9 gradient:1)
out=out/eval; mkdir -p "$out"
printf '%-14s %-8s %-14s %10s %10s %9s %9s\n' clip style mode E_warp gradient ratio detail
for clip in car-detection.mp4:384 asl-walk.mkv:320 asl-book.mkv:320; do
  name=${clip%%:*}; side=${clip##*:}; in=$shared/videos/$name
  for style in candy mosaic; do
    base=""
    for cfg in off:0 "${cfgs[@]}"; do
      mode=${cfg%%:*}; w=${cfg##*:}
      o=$out/${name%.*}-$style-$mode-$w.mp4
      bin/vidnst "$in" "$o" --style $style --max-side $side --output-size processing --frames 0-$((n-1)) \
        --temporal $mode --temporal-weight $w --crf 10 --preset veryfast -y -q
      read -r _ e _ g _ < <(bin/vidnst eval temporal "$in" "$o" --size "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0:s=x "$o")")
      [ -n "$base" ] || base="$e $g"
      set -- $base
      printf '%-14s %-8s %-14s %10.6f %10.6f %9.3f %9.3f\n' "${name%.*}" $style "$mode:$w" $e $g \
        "$(echo "$e / $1" | bc -l)" "$(echo "$g / $2" | bc -l)"
    done
  done
done
