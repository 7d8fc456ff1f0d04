#!/usr/bin/env bash
# vidnst against the tool people use today: a per-frame script around the
# ffmpeg CLI (frames out as PNG, the network on each with ONNX Runtime,
# frames back in with the audio muxed from the input). Same network, same
# ONNX Runtime (1.30.0, CPU), same threads, same size, same encoder
# settings (libx264 crf 18 preset medium, yuv420p); the baseline is given
# the input's exact frame rate and keeps its audio. Prints one line per
# run and a table of medians for BENCHMARKS.md ("vidnst against a
# per-frame script"). Usage:
#   scripts/compare-baseline.sh [CLIP] [STYLE] [WIDTHxHEIGHT] [FRAMES] [REPEATS]
# defaults: ../shared/videos/car-detection.mp4 candy 384x216 120 3.
# Needs node and npm (the baseline's onnxruntime-node and pngjs are put in
# .deps/baseline, their install scripts not run). FFmpeg's own
# dnn_processing filter is checked too: this FFmpeg cannot load the model.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VIDNST_SHARED:-../shared}
export VIDNST_MODEL_DIR=${VIDNST_MODEL_DIR:-$shared/models}
in=${1:-$shared/videos/car-detection.mp4}
style=${2:-candy}
size=${3:-384x216}
n=${4:-120}
reps=${5:-3}
threads=2
w=${size%x*}; h=${size#*x}
model=$VIDNST_MODEL_DIR/$style.onnx
[ -f "$in" ] || { echo "compare: no clip $in" >&2; exit 1; }
[ -f "$model" ] || { echo "compare: no model $model" >&2; exit 1; }
[ -x bin/vidnst ] || bash scripts/setup.sh

bl=.deps/baseline
if [ ! -f "$bl/node_modules/pngjs/package.json" ] || [ ! -f "$bl/node_modules/onnxruntime-node/package.json" ]; then
  command -v npm >/dev/null || { echo "compare: node and npm are needed for the baseline" >&2; exit 1; }
  mkdir -p "$bl"
  (cd "$bl" && npm install --silent --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 pngjs@7.0.0 >/dev/null)
fi
cp scripts/baseline/stylize-frames.mjs "$bl/"

out=out/compare; rm -rf "$out"; mkdir -p "$out"
rate=$(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate -of csv=p=0 "$in")
now() { date +%s.%N; }

baseline() { # $1: output file; prints extract, stylize, encode seconds and the PNG bytes
  local d=$out/work t0 t1 t2 t3 bytes
  rm -rf "$d"; mkdir -p "$d/in" "$d/out"
  t0=$(now)
  ffmpeg -v error -i "$in" -vf "scale=$w:$h" -frames:v "$n" "$d/in/%06d.png"
  t1=$(now)
  node "$bl/stylize-frames.mjs" "$model" "$d/in" "$d/out" $threads 2>/dev/null
  t2=$(now)
  ffmpeg -v error -y -framerate "$rate" -i "$d/out/%06d.png" -i "$in" -map 0:v -map '1:a?' \
    -c:v libx264 -crf 18 -preset medium -pix_fmt yuv420p -c:a copy -shortest "$1"
  t3=$(now)
  bytes=$(du -sb "$d" | cut -f1)
  rm -rf "$d"
  echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc) $bytes"
}

vidnst_() { # $1: output file, $2: temporal mode; prints seconds
  local t0 t1
  t0=$(now)
  bin/vidnst "$in" "$1" --style "$model" --width "$w" --height "$h" --output-size processing \
    --frames 0-$((n - 1)) --threads $threads --temporal "$2" -y -q
  t1=$(now)
  echo "$t1 - $t0" | bc
}

echo "clip $(basename "$in") ($rate fps, range/matrix $(ffprobe -v error -select_streams v:0 -show_entries stream=color_range,color_space -of csv=p=0:s=/ "$in")), $style, $size, $n frames, $threads threads, $(nproc) cores; runs in turn"
declare -A secs
for r in $(seq 1 "$reps"); do
  read -r e s c b < <(baseline "$out/baseline.mp4")
  tb=$(echo "$e + $s + $c" | bc)
  to=$(vidnst_ "$out/vidnst-off.mp4" off)
  tg=$(vidnst_ "$out/vidnst-gradient.mp4" gradient)
  printf 'run %d: baseline %.2f s (extract %.2f, stylize %.2f, encode %.2f; %d MB of PNGs), vidnst off %.2f s, vidnst gradient %.2f s\n' \
    "$r" "$tb" "$e" "$s" "$c" $((b / 1000000)) "$to" "$tg"
  secs[baseline]+="$tb "; secs[off]+="$to "; secs[gradient]+="$tg "
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

probe() { # frames, duration, audio codec, colour range/matrix of $1
  local f d a c
  f=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$1")
  d=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$1")
  a=$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$1")
  c=$(ffprobe -v error -select_streams v:0 -show_entries stream=color_range,color_space -of csv=p=0:s=/ "$1")
  echo "$f $d ${a:-none} $c"
}
base_med=$(echo "${secs[baseline]}" | median)
printf '| run | wall s (median of %d) | fps | speed vs baseline | E_warp | mean gradient | frames | video duration s | audio | range/matrix |\n' "$reps"
echo '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
for k in baseline off gradient; do
  f=$out/vidnst-$k.mp4; [ $k = baseline ] && f=$out/baseline.mp4
  t=$(echo "${secs[$k]}" | median)
  read -r _ ew _ g _ < <(bin/vidnst eval temporal "$in" "$f" --size "$size" --from 0)
  read -r fr du au co < <(probe "$f")
  printf '| %s | %.2f | %.2f | %.2fx | %.5f | %.4f | %s | %s | %s | %s |\n' "$k" "$t" "$(echo "$n / $t" | bc -l)" \
    "$(echo "$base_med / $t" | bc -l)" "$ew" "$g" "$fr" "$du" "$au" "$co"
done
psnr=$(ffmpeg -v error -i "$out/baseline.mp4" -i "$out/vidnst-off.mp4" -lavfi '[0:v][1:v]psnr=stats_file=-' -f null - 2>/dev/null |
  awk '{for (i = 1; i <= NF; i++) if ($i ~ /^psnr_avg:/) {split($i, a, ":"); s += (a[2] == "inf") ? 100 : a[2]; c++}} END {if (c) printf "%.1f", s / c}')
echo "baseline vs vidnst --temporal off, mean PSNR over the frames: ${psnr:-?} dB (same network; both encoded at crf 18)"
if ffmpeg -v error -i "$in" -frames:v 1 -vf "dnn_processing=model=$model:input=input1:output=output1" -f null - 2>"$out/dnn.err"; then
  echo "FFmpeg dnn_processing: ran the model"
else
  echo "FFmpeg dnn_processing (backends of this FFmpeg: $(ffmpeg -hide_banner -h filter=dnn_processing 2>/dev/null | awk '/backend flag/ {printf "%s ", $1}')): $(grep -m 1 -i 'dnn' "$out/dnn.err" | sed 's/^\[[^]]*\] //')"
fi
