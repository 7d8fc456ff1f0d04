#!/usr/bin/env bash
# GPU checks for vidnst on a machine with an NVIDIA GPU (H100/H200): runs the
# GPU tests and the inference benchmark table (1280x720 and 1920x1080; batch
# 1, 4, 8; fp32 and fp16) and writes the results to OUTDIR (default
# out/gpu). Finishes in under 5 minutes.
#
# It needs, in .deps/gpu/ (ignored by git; build it here, carry it there):
#   ort/      the ONNX Runtime 1.29 CUDA 13 bundle: ../shared/gpu/make-ort-cuda-kit.sh .deps/gpu/ort
#   models/   candy.onnx and fp16/candy-fp16.onnx (copied from ../shared/models)
#   stylize.test  go test -c -tags gpu -o .deps/gpu/stylize.test ./stylize   (needs no FFmpeg)
# Prepare all three with:  scripts/gpu-check.sh --prepare
# The CUDA 13 runtime, cuBLAS, cuRAND and cuDNN 9 are found on the machine
# (e.g. in a PyTorch venv's site-packages/nvidia folders).
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.deps/gpu
if [ "${1:-}" = "--prepare" ]; then
  shared=${VIDNST_SHARED:-../shared}
  mkdir -p "$kit/models/fp16"
  [ -f "$kit/ort/libonnxruntime.so.zst" ] || bash "$shared/gpu/make-ort-cuda-kit.sh" "$kit/ort"
  cp "$shared/models/candy.onnx" "$kit/models/"
  cp "$shared/models/fp16/candy-fp16.onnx" "$kit/models/fp16/"
  go test -c -tags gpu -o "$kit/stylize.test" ./stylize
  du -sh "$kit"
  exit 0
fi
out=$(realpath -m "${1:-out/gpu}")
mkdir -p "$out"
lib=/tmp/vidnst-ort
mkdir -p "$lib"
[ -f "$lib/libonnxruntime.so" ] || zstd -q -d -f "$kit/ort/libonnxruntime.so.zst" -o "$lib/libonnxruntime.so"
[ -f "$lib/libonnxruntime_providers_cuda.so" ] || zstd -q -d -f --long=27 "$kit/ort/libonnxruntime_providers_cuda.so.zst" -o "$lib/libonnxruntime_providers_cuda.so"
cp -f "$kit/ort/libonnxruntime_providers_shared.so" "$lib/"
cuda_dirs=$(find / -xdev \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcurand.so.10*' -o -name 'libcudnn.so.9*' \) -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH="$lib:${cuda_dirs}${LD_LIBRARY_PATH:-}"
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$lib/libonnxruntime.so
export VIDNST_MODEL_DIR=$(realpath "$kit/models") VIDNST_REQUIRE_ORT=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true; } | tee "$out/gpu.txt"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >> "$out/gpu.txt"
cd stylize  # the test binary finds ../shared relative to the package folder; models come from VIDNST_MODEL_DIR
set +e
timeout 120 "../$kit/stylize.test" -test.run 'GPU|CUDA|Candy' -test.v 2>&1 | tee "$out/tests.txt"
tests=${PIPESTATUS[0]}
timeout 150 "../$kit/stylize.test" -test.run '^$' -test.bench 'RunGPU' -test.benchtime 20x 2>&1 | tee "$out/bench.txt"
bench=${PIPESTATUS[0]}
set -e
echo "gpu-check: tests exit $tests, bench exit $bench; results in $out"
[ "$tests" -eq 0 ] && [ "$bench" -eq 0 ]
