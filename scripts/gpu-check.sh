#!/usr/bin/env bash
# GPU checks for vidnst on a machine with an NVIDIA GPU (H100/H200): runs the
# GPU tests, the inference benchmark table (1280x720 and 1920x1080; batch 1,
# 4, 8; fp32 and fp16), the end-to-end pipeline benchmark at 1080p, model
# and provider-option variants, the temporal stage at 1080p and an ONNX
# Runtime profile, and writes the logs to OUTDIR (default out/gpu). About 3
# minutes on an H100 or H200 (well under 5).
# VIDNST_GPU_STEPS="tests norms table e2e variants temporal profile vprofile"
# picks a subset (vprofile, not run by default: a profile per variant).
#
# It needs, in .deps/gpu/ (ignored by git; build it here, carry it there):
#   ort/          the ONNX Runtime 1.29 CUDA 13 bundle: ../shared/gpu/make-ort-cuda-kit.sh .deps/gpu/ort
#   models/       candy.onnx and fp16/candy-fp16.onnx (copied from ../shared/models)
#   frames/       12 frames of the shared car clip upscaled to 1920x1080 (JPEG)
#   *.test.zst    go test -c -tags gpu of ./stylize, ./pipeline and ./temporal (they need no FFmpeg)
#   bin/          zstd and its libraries (the GPU machine has none)
# Prepare all of them with:  scripts/gpu-check.sh --prepare
# The CUDA 13 runtime, cuBLAS, cuRAND and cuDNN 9 are found on the machine
# (e.g. in a PyTorch venv's site-packages/nvidia folders).
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.deps/gpu
if [ "${1:-}" = "--prepare" ]; then
  shared=${VIDNST_SHARED:-../shared}
  mkdir -p "$kit/models/fp16" "$kit/frames" "$kit/bin"
  cp "$(command -v zstd)" "$kit/bin/"
  for l in $(ldd "$(command -v zstd)" | awk '/=>/ {print $3}' | grep -v -E '/libc\.so|/libm\.so|ld-linux'); do cp -L "$l" "$kit/bin/"; done
  [ -f "$kit/ort/libonnxruntime.so.zst" ] || bash "$shared/gpu/make-ort-cuda-kit.sh" "$kit/ort"
  cp "$shared/models/candy.onnx" "$kit/models/"
  cp "$shared/models/fp16/candy-fp16.onnx" "$kit/models/fp16/"
  mkdir -p "$kit/shared/flow/Dimetrodon" # the texture temporal's benchmark moves
  cp "$shared/flow/Dimetrodon/frame10.png" "$kit/shared/flow/Dimetrodon/"
  rm -f "$kit"/frames/*.jpg
  ffmpeg -v error -y -i "$shared/videos/car-detection.mp4" -vf 'select=not(mod(n\,4)),scale=1920:1080:flags=bicubic' \
    -fps_mode passthrough -frames:v 12 -q:v 4 "$kit/frames/f%03d.jpg"
  for p in stylize pipeline temporal; do
    go test -c -tags gpu -ldflags='-s -w' -o "$kit/$p.test" "./$p"
    zstd -q -19 -f --rm "$kit/$p.test" -o "$kit/$p.test.zst"
  done
  du -sh "$kit"
  exit 0
fi
# The GPU machine has no zstd: --prepare put this machine's (with its libraries) in $kit/bin.
export PATH="$PWD/$kit/bin:$PATH" LD_LIBRARY_PATH="$PWD/$kit/bin:${LD_LIBRARY_PATH:-}"
out=$(realpath -m "${1:-out/gpu}")
mkdir -p "$out"
lib=/tmp/vidnst-ort
mkdir -p "$lib"
[ -f "$lib/libonnxruntime.so" ] || zstd -q -d -f "$kit/ort/libonnxruntime.so.zst" -o "$lib/libonnxruntime.so"
[ -f "$lib/libonnxruntime_providers_cuda.so" ] || zstd -q -d -f --long=27 "$kit/ort/libonnxruntime_providers_cuda.so.zst" -o "$lib/libonnxruntime_providers_cuda.so"
cp -f "$kit/ort/libonnxruntime_providers_shared.so" "$lib/"
cuda_dirs=$(find /opt /usr/local /usr/lib /root \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcurand.so.10*' -o -name 'libcudnn.so.9*' \) -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH="$lib:${cuda_dirs}${LD_LIBRARY_PATH:-}"
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$lib/libonnxruntime.so
export VIDNST_MODEL_DIR=$(realpath "$kit/models") VIDNST_REQUIRE_ORT=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true; } | tee "$out/gpu.txt"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >> "$out/gpu.txt"
for p in stylize pipeline temporal; do [ -f "$kit/$p.test.zst" ] || continue; zstd -q -d -f "$kit/$p.test.zst" -o "/tmp/vidnst-$p.test"; chmod +x "/tmp/vidnst-$p.test"; done
frames=$(realpath "$kit/frames")
step() { # step NAME DIR SECONDS CMD...: run CMD in DIR, log to $out/NAME.txt
  local name=$1 dir=$2 secs=$3; shift 3
  echo "== $name" | tee -a "$out/summary.txt"
  set +e
  (cd "$dir" && timeout "$secs" "$@") 2>&1 | tee "$out/$name.txt" | grep -E '^(---|ok|FAIL|PASS|Benchmark|panic)|frames/s|PSNR|FP16_NORMS|max \||cuda:7' | tee -a "$out/summary.txt"
  local rc=${PIPESTATUS[0]}
  set -e
  echo "== $name exit $rc" | tee -a "$out/summary.txt"
  [ "$rc" -eq 0 ] || failed=1
}
failed=0
t0=$SECONDS
# The test binaries look for models in VIDNST_MODEL_DIR and for fixtures
# relative to their package folder.
steps=" ${VIDNST_GPU_STEPS:-tests norms table e2e variants temporal profile} " # a subset can be named
want() { [[ "$steps" == *" $1 "* ]]; }
norms=${VIDNST_GPU_NORMS:-fold float32 scale keep fold-io32 fold-par1 float32-par1 fold-buf4}
for v in $norms; do # checked before any GPU time is spent
  [[ $v =~ ^(fold|float32|scale|keep)(-io32|-par1|-buf4)?$ ]] && continue
  echo "gpu-check: VIDNST_GPU_NORMS: $v: want fold, float32, scale or keep, and at most one of -io32, -par1, -buf4" >&2
  exit 2
done
if want tests; then
  step tests stylize 90 /tmp/vidnst-stylize.test -test.run 'GPU|CUDA|Candy|HalfIO' -test.v
  if [ "$failed" -ne 0 ]; then # diagnosis: the other way of adding the provider, in its own process
    step tests-v1 stylize 60 env VIDNST_CUDA_API=v1 /tmp/vidnst-stylize.test -test.run 'GPUMatchesCPU' -test.v
  fi
fi
# norms: the fp16 network at 1080p, batch 1 and 4, with its instance norms
# folded (the default), in float32, with the first Conv scaled, and as the
# file has them (keep: wrong in batches); the default also with float32
# input and output tensors (-io32: VIDNST_FP16_IO=off; the default is
# float16), with one batch at a time (-par1: VIDNST_PARALLEL=1; the
# default runs two at once, each on its own CUDA stream) and with four
# slots and one runner (-buf4: VIDNST_PARALLEL=1 VIDNST_BUFFERS=4, to tell
# the slots from the second runner). VIDNST_GPU_NORMS="fold float32-par1
# ..." names others (a name twice runs it twice; its log keeps the last).
if want norms; then
  for v in $norms; do
    n=${v%%-*}; io=; par=; buf=
    case ${v#"$n"} in -io32) io=off ;; -par1) par=1 ;; -buf4) par=1 buf=4 ;; esac
    step "bench-norms-$v" stylize 90 env VIDNST_FP16_NORMS="$n" VIDNST_FP16_IO="$io" VIDNST_PARALLEL="$par" VIDNST_BUFFERS="$buf" /tmp/vidnst-stylize.test -test.run '^$' -test.bench 'RunGPU/1920x1080/batch(1|4)/fp16$' -test.benchtime 20x
  done
fi
want table && step bench-table stylize 170 /tmp/vidnst-stylize.test -test.run '^$' -test.bench 'RunGPU' -test.benchtime 20x
want e2e && step bench-e2e pipeline 150 env VIDNST_GPU_FRAMES="$frames" VIDNST_GPU_RUNS="${VIDNST_GPU_RUNS:-1x0,4x0}" /tmp/vidnst-pipeline.test -test.run '^$' -test.bench 'EndToEndGPU' -test.benchtime 1x
want temporal && step bench-temporal temporal 60 env VIDNST_SHARED="$(realpath "$kit/shared")" /tmp/vidnst-temporal.test -test.run '^$' -test.bench 'Stage1080|GSSweeps1080/wave' -test.benchtime 10x
# variants: model files and provider options compared on the same frames
# (VIDNST_VARIANTS, see stylize's BenchmarkVariantsGPU); vprofile: each of
# them through ORT's profiler, one per process.
m=$(realpath "$kit/models")
variants=${VIDNST_VARIANTS:-$m/fp16/candy-fp16.onnx,$m/fp16/candy-fp16.onnx@prefer_nhwc=1,$m/candy.onnx}
want variants && step bench-variants stylize 240 env VIDNST_VARIANTS="$variants" /tmp/vidnst-stylize.test -test.run '^$' -test.bench 'VariantsGPU' -test.benchtime 1x
if want vprofile; then
  IFS=, read -ra vs <<< "$variants"
  for v in "${vs[@]}"; do
    rm -rf /tmp/vidnst-prof && mkdir -p /tmp/vidnst-prof
    (cd stylize && VIDNST_ORT_PROFILE=/tmp/vidnst-prof/p VIDNST_VARIANTS="$v" VIDNST_VARIANT_FRAMES=5 timeout 60 /tmp/vidnst-stylize.test -test.run '^$' -test.bench VariantsGPU -test.benchtime 1x >/dev/null 2>&1) || failed=1
    { echo "== profile 1920x1080 batch 1 ${v#"$m"/}"; python3 scripts/ort-profile-summary.py /tmp/vidnst-prof/*.json; } 2>&1 | tee -a "$out/vprofile.txt"
  done
fi
if want profile; then # where a 1080p frame's GPU time goes, per operator (ORT's profiler)
  for prec in fp16; do
    rm -rf /tmp/vidnst-prof && mkdir -p /tmp/vidnst-prof
    (cd stylize && VIDNST_ORT_PROFILE=/tmp/vidnst-prof/p timeout 60 /tmp/vidnst-stylize.test -test.run '^$' -test.bench "RunGPU/1920x1080/batch1/$prec\$" -test.benchtime 5x >/dev/null 2>&1) || failed=1
    { echo "== profile 1920x1080 batch 1 $prec"; python3 scripts/ort-profile-summary.py /tmp/vidnst-prof/*.json; } 2>&1 | tee -a "$out/profile.txt"
  done
fi
echo "gpu-check: $((SECONDS - t0)) s of checks" | tee -a "$out/summary.txt"
echo "gpu-check: results in $out"
[ "$failed" -eq 0 ]
