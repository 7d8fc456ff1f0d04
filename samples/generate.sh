#!/usr/bin/env bash
# Generates the project's own sample clips with FFmpeg's lavfi sources (no
# downloads, nothing committed): run from anywhere; writes into samples/.
set -euo pipefail
cd "$(dirname "$0")"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# 4 s, 320x240, 25 fps, moving test pattern with a frame counter, 440 Hz AAC tone.
[ -f testsrc.mp4 ] || ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=4" \
  -f lavfi -i "sine=frequency=440:duration=4" -c:v libx264 -pix_fmt yuv420p -crf 20 \
  -c:a aac -b:a 96k -shortest -metadata title="vidnst sample" testsrc.mp4
# 3 s, 320x240, full-range Matroska (yuvj420p), a moving mandelbrot zoom.
[ -f fullrange.mkv ] || ff -f lavfi -i "mandelbrot=size=320x240:rate=25" -t 3 \
  -c:v libx264 -pix_fmt yuvj420p -color_range pc fullrange.mkv
echo "samples: $(ls *.mp4 *.mkv | tr '\n' ' ')"
