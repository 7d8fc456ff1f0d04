#!/usr/bin/env bash
# Installs what vidnst needs on Debian 12 and builds it:
#  - FFmpeg 5.1 development libraries, pkg-config and the ffmpeg CLI (apt)
#  - the ONNX Runtime 1.30.0 shared library, taken from the npm package
#    onnxruntime-node@1.30.0 (its install script, which downloads from the
#    internet, is not run), checked against a known sha256 and put at
#    ${XDG_CACHE_HOME:-~/.cache}/vidnst/lib/libonnxruntime.so.1, where vidnst
#    looks by default
#  - bin/vidnst
# Idempotent: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.30.0
ORT_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/vidnst/lib"
ORT_LIB="$ORT_DIR/libonnxruntime.so.1"

say() { echo "setup: $*" >&2; }

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs=(libavcodec-dev libavformat-dev libavfilter-dev libavdevice-dev libswscale-dev
      libswresample-dev libavutil-dev pkg-config ffmpeg gcc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { sudo_ apt-get update -q >/dev/null && sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then export PATH=$PATH:/usr/local/go/bin; else say "Go 1.26 is needed (https://go.dev/dl)"; exit 1; fi
fi

have_ort() { [ -f "$ORT_LIB" ] && echo "$ORT_SHA256  $ORT_LIB" | sha256sum -c --quiet - >/dev/null 2>&1; }
if ! have_ort; then
  command -v npm >/dev/null || { say "installing npm"; sudo_ apt-get install -y -q npm >/dev/null; }
  say "fetching ONNX Runtime $ORT_VERSION (npm onnxruntime-node@$ORT_VERSION)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  mkdir -p "$ORT_DIR"
  cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ORT_LIB.part"
  mv "$ORT_LIB.part" "$ORT_LIB"
  have_ort || { say "ONNX Runtime library checksum mismatch: $ORT_LIB"; rm -f "$ORT_LIB"; exit 1; }
fi

say "building bin/vidnst"
go build -o bin/vidnst ./cmd/vidnst
say "ok: bin/vidnst, ONNX Runtime at $ORT_LIB"
