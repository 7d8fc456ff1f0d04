package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/onnxgen"
	"github.com/vidnst/vidnst/internal/testmedia"
	"github.com/vidnst/vidnst/stylize"
)

// inferAll gives the same frames whether it runs one batch after another
// or overlaps slots (as on CUDA), including a partial last batch.
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

// vidnst bench --json on a real clip reports both rates, the efficiency
// and each stage's busy share, and leaves nothing behind.
func TestBenchJSON(t *testing.T) {
	dir := t.TempDir()
	identity, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 96, 64, 25, 12, false)
	out := mustRun(t, "bench", in, "--style", identity, "--bench-frames", "8", "--repeats", "1", "--json")
	var res benchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if res.Frames != 8 || res.EndToEndFrames != 8 || res.InferenceFPS <= 0 || res.EndToEndFPS <= 0 || res.Efficiency <= 0 {
		t.Fatalf("bench result %+v", res)
	}
	b := res.Busy
	if b == nil || res.Runners < 1 {
		t.Fatalf("no busy shares: %q", out)
	}
	for name, v := range map[string]float64{"decode": b.Decode, "prepare": b.Prepare, "load": b.Load, "network": b.Network, "store": b.Store, "apply": b.Apply, "encode": b.Encode} {
		if v < 0 || v > 2 {
			t.Errorf("busy %s = %v", name, v)
		}
	}
	if b.Decode == 0 || b.Network == 0 || b.Encode == 0 {
		t.Errorf("decode, network and encode must have worked: %+v", *b)
	}
	if got := listDir(t, dir); len(got) != 3 { // the two models and the clip
		t.Errorf("bench left files: %v", got)
	}
	if res.OpenSec <= 0 || res.FirstPassFPS <= 0 {
		t.Errorf("no start measured: open %v s, first pass %v fps", res.OpenSec, res.FirstPassFPS)
	}
	// A --size that is not a multiple of 4: both runs at the render's
	// rounded size (the end-to-end runs reuse the session).
	out = mustRun(t, "bench", in, "--style", identity, "--size", "50x30", "--bench-frames", "4", "--repeats", "1", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if res.Width != 52 || res.Height != 32 || res.EndToEndFrames != 4 {
		t.Errorf("--size 50x30: %dx%d, %d end-to-end frames", res.Width, res.Height, res.EndToEndFrames)
	}
	// An input whose container holds no H.264 (a render writes .mp4 from
	// it): the end-to-end runs write Matroska.
	y4m := filepath.Join(t.TempDir(), "in.y4m")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", in, "-pix_fmt", "yuv420p", y4m).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	out = mustRun(t, "bench", y4m, "--style", identity, "--bench-frames", "4", "--repeats", "1", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.EndToEndFrames != 4 {
		t.Errorf(".y4m input: %v, %+v", err, res)
	}
}
