package stylize

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidnst/vidnst/internal/onnxgen"
)

// scene is a synthetic w x h frame with structure: gradients, a disc and
// stripes (noise would be a poor style input).
func scene(w, h int, shift int) []float32 {
	n := w * h
	f := make([]float32, 3*n)
	for y := range h {
		for x := range w {
			j := y*w + x
			dx, dy := float64(x-w/2-shift), float64(y-h/2)
			disc := dx*dx+dy*dy < float64(h*h)/9
			r, g, b := 255*float64(x)/float64(w), 255*float64(y)/float64(h), 128.0
			if disc {
				r, g, b = 230, 40, 60
			}
			if (x/4)%5 == 0 {
				b = 250
			}
			f[j], f[n+j], f[2*n+j] = float32(r), float32(g), float32(b)
		}
	}
	return f
}

// plausible checks a styled frame: nearly all values in -50..300, finite,
// and far from constant.
func plausible(t *testing.T, name string, out []float32) {
	t.Helper()
	var sum, sq float64
	bad := 0
	for _, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s: non-finite value %v", name, v)
		}
		if v < -50 || v > 300 {
			bad++
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(out))
	mean := sum / n
	std := math.Sqrt(sq/n - mean*mean)
	t.Logf("%s: mean %.1f std %.1f, %d of %d values outside -50..300", name, mean, std, bad, len(out))
	if float64(bad) > 0.01*n {
		t.Errorf("%s: %d of %d values outside -50..300", name, bad, len(out))
	}
	if std < 10 || mean < 20 || mean > 235 {
		t.Errorf("%s: implausible output: mean %.1f std %.1f", name, mean, std)
	}
}

func TestCandy(t *testing.T) {
	needORT(t)
	p := sharedModel(t, "candy.onnx")
	const w, h = 128, 72
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 2})
	in := [][]float32{scene(w, h, 0), scene(w, h, 20)}
	out := zeros(2, w, h)
	start := time.Now()
	if err := s.Run(in, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("batch of 2 at %dx%d: %v", w, h, time.Since(start))
	plausible(t, "frame 0", out[0])
	plausible(t, "frame 1", out[1])
	same := true
	for j := range out[0] {
		if out[0][j] != out[1][j] {
			same = false
			break
		}
	}
	if same {
		t.Error("two different inputs gave the same output")
	}
	// Batch entries are independent: frame 1 alone (partial batch) matches.
	one := zeros(1, w, h)
	if err := s.Run(in[1:], one); err != nil {
		t.Fatal(err)
	}
	if maxd := maxDiff(one[0], out[1]); maxd > 0.5 {
		t.Errorf("partial batch differs from the full batch by up to %v", maxd)
	}
}

func TestCandyFP16OnCPU(t *testing.T) {
	needORT(t)
	p := sharedModel(t, "candy.onnx")
	fp, ok := FP16Variant(p)
	if !ok {
		t.Skipf("SKIPPED: no fp16 variant beside %s", p)
	}
	const w, h = 64, 48
	s := newSession(t, fp, Options{Width: w, Height: h, Threads: 2})
	out := zeros(1, w, h)
	if err := s.Run([][]float32{scene(w, h, 0)}, out); err != nil {
		t.Fatal(err)
	}
	plausible(t, "fp16", out[0])
}

// TestCandyExportedAt224 runs candy as the ONNX Model Zoo ships it (the
// file `models fetch` downloads): every image dim fixed at [1,3,224,224].
// At another size and batch it must give what the free-dims file gives.
func TestCandyExportedAt224(t *testing.T) {
	needORT(t)
	raw, err := os.ReadFile(sharedModel(t, "candy.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := setImageDims(raw, [4]int64{1, 3, 224, 224}, "input1", "output1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	free, zoo := filepath.Join(dir, "candy.onnx"), filepath.Join(dir, "candy-9.onnx")
	if err := os.WriteFile(free, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zoo, fixed, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(zoo)
	if err != nil || info.Input.Shape() != "[1, 3, 224, 224]" {
		t.Fatalf("fixed copy: %v %v", info, err)
	}
	const w, h = 64, 48
	in := [][]float32{scene(w, h, 0), scene(w, h, 9)}
	var outs [2][][]float32
	for k, p := range []string{free, zoo} {
		s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Threads: 2})
		outs[k] = zeros(2, w, h)
		if err := s.Run(in, outs[k]); err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
	}
	for i := range 2 {
		plausible(t, "224 export", outs[1][i])
		for j := range outs[0][i] {
			if outs[0][i][j] != outs[1][i][j] {
				t.Fatalf("frame %d value %d: %v from the 224 export, %v from the free one", i, j, outs[1][i][j], outs[0][i][j])
			}
		}
	}
}

// BenchmarkRun: candy at 384x216, batch 1, 2 intra-op threads.
//
//	go test ./stylize -run '^$' -bench BenchmarkRun -benchtime 20x
func BenchmarkRun(b *testing.B) {
	needORT(b)
	p := sharedModel(b, "candy.onnx")
	const w, h = 384, 216
	s := newSession(b, p, Options{Width: w, Height: h, Batch: 1, Threads: 2})
	in, out := [][]float32{scene(w, h, 0)}, zeros(1, w, h)
	if err := s.Run(in, out); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := s.Run(in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

// TestCancelStopsARun: Cancel from another goroutine ends a long Run early.
func TestCancelStopsARun(t *testing.T) {
	needORT(t)
	p := sharedModel(t, "candy.onnx")
	const w, h = 1280, 720 // about 1.5 s on 2 cores
	s := newSession(t, p, Options{Width: w, Height: h})
	in, out := [][]float32{scene(w, h, 1)}, zeros(1, w, h)
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- s.Run(in, out) }()
	time.Sleep(100 * time.Millisecond)
	s.Cancel()
	err := <-done
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("Run after Cancel: %v (after %v)", err, time.Since(t0))
	}
	if d := time.Since(t0); d > 700*time.Millisecond {
		t.Fatalf("canceled Run took %v", d)
	}
	if err := s.Run(in, out); !errors.Is(err, ErrCanceled) {
		t.Fatalf("Run after Cancel: %v", err)
	}
	s.Close()
	s.Cancel() // after Close: harmless
}

// batchPSNRs runs four different frames through p on device, one at a time
// (batch 1) and together (batch 4), and one frame alone in the batch-4
// session (a partial batch), and returns the lowest PSNR of the batched
// outputs against the single ones: the batch entries must be independent.
func batchPSNRs(t *testing.T, p, device string, w, h int) (full, partial float64) {
	t.Helper()
	one := newSession(t, p, Options{Width: w, Height: h, Batch: 1, Threads: 2, Device: device})
	four := newSession(t, p, Options{Width: w, Height: h, Batch: 4, Threads: 2, Device: device})
	if m := four.Mend(); m != "" {
		t.Logf("%s, batch 4 on %s: %s", filepath.Base(p), four.Device(), m)
		if device == "cpu" {
			t.Errorf("a CPU session changed the model: %s", m)
		}
	}
	in := [][]float32{scene(w, h, 0), scene(w, h, 15), scene(w, h, -20), scene(w, h, 30)}
	ref := zeros(4, w, h)
	for i := range in {
		if err := one.Run(in[i:i+1], ref[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	got := zeros(4, w, h)
	if err := four.Run(in, got); err != nil {
		t.Fatal(err)
	}
	full = math.Inf(1)
	for i := range got {
		full = min(full, psnr(got[i], ref[i]))
	}
	alone := zeros(1, w, h)
	if err := four.Run(in[2:3], alone); err != nil {
		t.Fatal(err)
	}
	return full, psnr(alone[0], ref[2])
}

// maxDiff is the largest |a[i]-b[i]|.
func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// psnr of a against b (0..255).
func psnr(a, b []float32) float64 {
	sum := 0.0
	for j := range a {
		d := float64(a[j] - b[j])
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(len(a))))
}

// checkBatches runs batchPSNRs for candy, fp32 and (when present) fp16,
// on device at w x h, fails below minDB, and returns the models' paths.
func checkBatches(t *testing.T, device string, w, h int, minDB float64) []string {
	t.Helper()
	p := sharedModel(t, "candy.onnx")
	models := []string{p}
	if fp, ok := FP16Variant(p); ok {
		models = append(models, fp)
	}
	for _, m := range models {
		full, partial := batchPSNRs(t, m, device, w, h)
		t.Logf("%s on %s: batch of 4 vs one at a time %.1f dB, partial batch %.1f dB", filepath.Base(m), device, full, partial)
		if full < minDB || partial < minDB {
			t.Errorf("%s on %s: batched output differs from single runs: %.1f dB, partial %.1f dB", filepath.Base(m), device, full, partial)
		}
	}
	return models
}

// Frames batched together, or alone in a batch, give what they give one at
// a time, fp32 and fp16 (on a GPU the same check runs on CUDA).
func TestBatchMatchesSingle(t *testing.T) {
	needORT(t)
	checkBatches(t, "cpu", 64, 48, 40)
}

// A frame too small for the network's padding fails with ErrTooSmall,
// naming the size; the smallest that runs does.
func TestTooSmall(t *testing.T) {
	needORT(t)
	type size struct {
		w, h int
		ok   bool
	}
	check := func(t *testing.T, p string, sizes []size) {
		for _, c := range sizes {
			s := newSession(t, p, Options{Width: c.w, Height: c.h, Batch: 1, Threads: 2})
			err := s.Run([][]float32{scene(c.w, c.h, 0)}, zeros(1, c.w, c.h))
			switch {
			case c.ok && err != nil:
				t.Errorf("%dx%d: %v", c.w, c.h, err)
			case !c.ok && (!errors.Is(err, ErrTooSmall) || !strings.Contains(err.Error(), fmt.Sprintf("does not run at %dx%d", c.w, c.h))):
				t.Errorf("%dx%d: %v, want ErrTooSmall naming the size", c.w, c.h, err)
			}
		}
	}
	t.Run("reflect", func(t *testing.T) {
		p := model(t, "reflect", func(p string) error { return onnxgen.Reflect(p, 4) })
		check(t, p, []size{{4, 4, false}, {8, 4, false}, {8, 8, true}})
	})
	t.Run("candy", func(t *testing.T) {
		check(t, sharedModel(t, "candy.onnx"), []size{{4, 4, false}, {8, 4, false}, {8, 8, true}})
	})
}
