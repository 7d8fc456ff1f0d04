#!/usr/bin/env bash
# The real vidnst binary (with FFmpeg) on a GPU machine that has no FFmpeg
# libraries and takes at most 64 MiB per transfer: the binary's 209 shared
# libraries (243 MB) travel as two zstd parts of ~42 MB, unpacked into
# /tmp/ff by two calls in a row on the same (warm) machine; a third call
# brings the ONNX Runtime CUDA kit (scripts/gpu-check.sh --prepare) and runs
# renders and benchmarks at 1080p with NVDEC, NVENC and libx264 (`vidnst
# bench` at 1080p: fp16 with temporal gradient and off over 96 frames and over
# the whole clip, fp32, output at the input's size and at 1080p), about 2
# minutes. The machine goes back after 30 s idle: make the three calls in a
# row, carrying what each needs (below; what a call carried stays there).
#
#   here:  scripts/gpu-real.sh --prepare
#   there: scripts/gpu-real.sh unpack .deps/ff/a.tar.zst   (carry .deps/ff/a.tar.zst .deps/gpu/bin)
#          scripts/gpu-real.sh unpack .deps/ff/b.tar.zst   (carry .deps/ff/b.tar.zst .deps/ff/vidnst.zst .deps/gpu/bin)
#          scripts/gpu-real.sh run OUTDIR                   (carry .deps/gpu/ort .deps/gpu/models .deps/gpu/bin .deps/clip)
set -uo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
--prepare)
  shared=${VIDNST_SHARED:-../shared}
  [ -d .deps/gpu/ort ] || { echo "gpu-real: run scripts/gpu-check.sh --prepare first"; exit 1; }
  make -s build 2>/dev/null || go build -o bin/vidnst ./cmd/vidnst
  tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
  ldd bin/vidnst | awk '/=>/ {print $3}' | grep -v -E '/lib(c|m|pthread|dl|rt)\.so|ld-linux' | xargs -I{} cp -L {} "$tmp/"
  mkdir -p .deps/ff .deps/clip
  (cd "$tmp" && ls -S) > "$tmp/list"
  tar -C "$tmp" -cf - $(awk 'NR%2==1' "$tmp/list" | grep -v '^list$') | zstd -19 -T0 -q -f -o .deps/ff/a.tar.zst
  tar -C "$tmp" -cf - $(awk 'NR%2==0' "$tmp/list" | grep -v '^list$') | zstd -19 -T0 -q -f -o .deps/ff/b.tar.zst
  zstd -19 -q -f bin/vidnst -o .deps/ff/vidnst.zst
  cp "$shared/videos/car-detection.mp4" .deps/clip/
  du -sh .deps/ff/* ;;
unpack)
  export PATH=$PWD/.deps/gpu/bin:$PATH LD_LIBRARY_PATH=$PWD/.deps/gpu/bin
  mkdir -p /tmp/ff && zstd -q -d -c "$2" | tar -x -C /tmp/ff || exit 1
  if [ -f .deps/ff/vidnst.zst ]; then zstd -q -d -f .deps/ff/vidnst.zst -o /tmp/ff/vidnst && chmod +x /tmp/ff/vidnst; fi
  [ -x /tmp/ff/vidnst ] && { LD_LIBRARY_PATH=/tmp/ff ldd /tmp/ff/vidnst | grep "not found" || echo "gpu-real: all libraries found"; }
  ls /tmp/ff | wc -l ;;
run)
  out=$(realpath -m "${2:-out/gpu-real}"); mkdir -p "$out"
  export PATH=$PWD/.deps/gpu/bin:$PATH LD_LIBRARY_PATH=$PWD/.deps/gpu/bin
  [ -x /tmp/ff/vidnst ] || { echo "gpu-real: /tmp/ff/vidnst missing (a cold machine: unpack both parts first)"; exit 3; }
  lib=/tmp/vidnst-ort; mkdir -p $lib
  [ -f $lib/libonnxruntime.so ] || zstd -q -d -f .deps/gpu/ort/libonnxruntime.so.zst -o $lib/libonnxruntime.so
  [ -f $lib/libonnxruntime_providers_cuda.so ] || zstd -q -d -f --long=27 .deps/gpu/ort/libonnxruntime_providers_cuda.so.zst -o $lib/libonnxruntime_providers_cuda.so
  cp -f .deps/gpu/ort/libonnxruntime_providers_shared.so $lib/
  cuda_dirs=$(find /opt /usr/local /usr/lib /root \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcurand.so.10*' -o -name 'libcudnn.so.9*' \) -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
  export LD_LIBRARY_PATH=$lib:${cuda_dirs}/tmp/ff:$PWD/.deps/gpu/bin
  export VIDNST_MODEL_DIR=$PWD/.deps/gpu/models ONNXRUNTIME_SHARED_LIBRARY_PATH=$lib/libonnxruntime.so
  V=/tmp/ff/vidnst C=.deps/clip/car-detection.mp4
  { nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    ls /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu 2>/dev/null | grep -E 'libnvcuvid|libnvidia-encode' | sort -u
    run() { echo "== $*"; timeout 150 "$@" 2>&1 | tail -5; echo "rc=${PIPESTATUS[0]}"; }
    B="$V bench $C --style candy --device cuda --size 1920x1080 --repeats 3"
    # Output at the input's size (the default): the encoder is cheap.
    run $B --fp16 --bench-frames 96 --temporal gradient
    run $B --fp16 --bench-frames 96 --temporal off
    run $B --fp16 --bench-frames 377 --repeats 2 --temporal gradient # the whole clip
    run $B --bench-frames 96 --temporal gradient                     # fp32
    # Output at 1080p: libx264 on the CPU (H100/H200 have no NVENC).
    run $B --fp16 --bench-frames 96 --output-size processing --temporal off
    VIDNST_FFMPEG_LOG=error run $B --fp16 --bench-frames 96 --output-size processing --temporal off --codec h264_nvenc
    run $V $C "$out/hwaccel.mp4" --style candy --fp16 --device cuda --hwaccel cuda --frames 0-47 --progress none
    VIDNST_FFMPEG_LOG=error run $V $C "$out/nvenc.mp4" --style candy --fp16 --device cuda --codec h264_nvenc --frames 0-47 --progress none
    run $V $C "$out/full.mp4" --style candy --fp16 --device auto --progress none
  } 2>&1 | tee "$out/real.txt"
  rm -f "$out/full.mp4" ;;
*) sed -n 2,16p "$0"; exit 2 ;;
esac
