# vidnst: see README.md. `make demo` and `make test` are the two set-up commands.
SHELL := /bin/bash
SHARED ?= $(abspath ../shared)
export VIDNST_SHARED ?= $(SHARED)
export VIDNST_MODEL_DIR ?= $(SHARED)/models
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
TEST_TIMEOUT ?= 15m

.PHONY: setup build demo test bench vet fmt

setup:
	bash scripts/setup.sh

build:
	$(GO) build -o bin/vidnst ./cmd/vidnst

# Set up, then stylize a sample clip into out/demo-candy.mp4.
demo: setup
	bash scripts/demo.sh

# Set up, then run every test (real FFmpeg, real ONNX Runtime, shared data when present).
test: setup
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

bench: setup
	bash scripts/bench.sh

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .
