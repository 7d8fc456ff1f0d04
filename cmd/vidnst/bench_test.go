package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/onnxgen"
	"github.com/vidnst/vidnst/stylize"
)

// inferAll gives the same frames whether it runs one batch after another
// or overlaps two slots (as on CUDA), including a partial last batch.
func TestInferAllSlots(t *testing.T) {
	model := filepath.Join(t.TempDir(), "invert.onnx")
	if err := onnxgen.Invert(model); err != nil {
		t.Fatal(err)
	}
	if err := stylize.Init(""); err != nil {
		t.Fatal(err)
	}
	const w, h = 32, 16
	for _, bufs := range []int{1, 2, 3} {
		s, err := stylize.New(model, stylize.Options{Width: w, Height: h, Batch: 2, Buffers: bufs})
		if err != nil {
			t.Fatal(err)
		}
		frames := make([]*frame.Frame, 7)
		for i := range frames {
			frames[i] = frame.New(w, h)
			for k := range frames[i].In {
				frames[i].In[k] = float32((k + 31*i) % 256)
			}
		}
		if err := inferAll(s, frames); err != nil {
			t.Fatal(err)
		}
		s.Close()
		for i, f := range frames {
			for k, v := range f.Out {
				if want := 255 - f.In[k]; v != want {
					t.Fatalf("%d slots: frame %d value %d: %v, want %v", bufs, i, k, v, want)
				}
			}
		}
	}
}

// Renders and benchmarks run two frames at once on the CPU; stills, sheets
// and image folders run one frame at a time and get all the threads.
func TestOpenStylerParallel(t *testing.T) {
	model := filepath.Join(t.TempDir(), "invert.onnx")
	if err := onnxgen.Invert(model); err != nil {
		t.Fatal(err)
	}
	o := defaultRenderOpts()
	o.threads = 2
	for _, tc := range []struct {
		single bool
		want   int
	}{{false, 2}, {true, 1}} {
		s, err := openStyler(o, model, 32, 16, tc.single, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if s.Parallel() != tc.want || s.Slots() != tc.want {
			t.Errorf("single %v: parallel %d, slots %d; want %d", tc.single, s.Parallel(), s.Slots(), tc.want)
		}
		s.Close()
	}
}
