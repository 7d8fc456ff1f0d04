#!/usr/bin/env bash
# Stylizes a sample clip with the candy style into out/demo-candy.mp4.
# Prefers the real shared clip and model (../shared); otherwise uses the
# project's own generated sample clip.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VIDNST_SHARED:-../shared}
clip=$shared/videos/car-detection.mp4
if [ ! -f "$clip" ]; then
  bash samples/generate.sh >/dev/null
  clip=samples/testsrc.mp4
fi
style=candy
if [ ! -f "${VIDNST_MODEL_DIR:-$shared/models}/candy.onnx" ] && [ ! -f "$HOME/.cache/vidnst/models/candy.onnx" ]; then
  echo "demo: no candy.onnx in \$VIDNST_MODEL_DIR, $shared/models or ~/.cache/vidnst/models;" >&2
  echo "demo: fetching it: bin/vidnst models fetch candy" >&2
  bin/vidnst models fetch candy
fi
mkdir -p out
export VIDNST_MODEL_DIR=${VIDNST_MODEL_DIR:-$shared/models}
bin/vidnst "$clip" out/demo-candy.mp4 --style "$style" --max-side 384 -y
