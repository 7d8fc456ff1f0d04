//go:build gpu

package stylize

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidnst/vidnst/internal/half"
)

// GPU checks, built only with -tags gpu on a machine with an NVIDIA GPU,
// the CUDA 13 runtime + cuDNN 9 and the CUDA build of ONNX Runtime 1.29
// (scripts/gpu-check.sh sets these up):
//
//	go test -tags gpu ./stylize -run GPU -v
func TestGPUMatchesCPU(t *testing.T) {
	needORT(t)
	p := sharedModel(t, "candy.onnx")
	const w, h = 256, 144
	g, err := New(p, Options{Width: w, Height: h, Batch: 2, Device: "cuda"})
	if err != nil {
		t.Fatalf("cuda on a gpu-tagged run: %v", err)
	}
	defer g.Close()
	c := newSession(t, p, Options{Width: w, Height: h, Batch: 2})
	in := [][]float32{scene(w, h, 0), scene(w, h, 9)}
	og, oc := zeros(2, w, h), zeros(2, w, h)
	if err := g.Run(in, og); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(in, oc); err != nil {
		t.Fatal(err)
	}
	// TF32 convolutions on the GPU: a few pixels differ by several levels,
	// the frame as a whole stays far above visible-difference PSNR.
	for i := range og {
		maxd, d := maxDiff(og[i], oc[i]), psnr(og[i], oc[i])
		t.Logf("frame %d: gpu vs cpu PSNR %.1f dB, max |diff| %.2f", i, d, maxd)
		if d < 40 {
			t.Errorf("frame %d: GPU and CPU differ: PSNR %.1f dB", i, d)
		}
	}
	t.Logf("pinned host memory: %v", g.Pinned())
	// Double buffering is on by default on CUDA, two runs at once: slots
	// interleaved the way the pipeline uses them give Run's results.
	if os.Getenv("VIDNST_PARALLEL")+os.Getenv("VIDNST_BUFFERS") != "" {
		t.Logf("VIDNST_PARALLEL=%q VIDNST_BUFFERS=%q set: %d slots, parallel %d", os.Getenv("VIDNST_PARALLEL"), os.Getenv("VIDNST_BUFFERS"), g.Slots(), g.Parallel())
	} else if g.Slots() != 4 || g.Parallel() != 2 {
		t.Errorf("cuda session has %d slots, parallel %d; want 4, 2", g.Slots(), g.Parallel())
	}
	o0, o1 := zeros(1, w, h), zeros(1, w, h)
	for _, err := range []error{g.Load(0, in[:1]), g.Exec(0), g.Load(1, in[1:]), g.Exec(1), g.Store(1, o1), g.Store(0, o0)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Those were partial batches (1 of 2): on CUDA they run padded in the
	// full batch's tensors, so no new shape makes cuDNN tune again.
	for i, sl := range g.slots {
		if sl.partial[0] != nil {
			t.Errorf("slot %d: a partial batch on CUDA made [1,3,H,W] tensors instead of padding", i)
		}
	}
	for i, o := range [][]float32{o0[0], o1[0]} {
		if maxd := maxDiff(o, og[i]); maxd > 0.5 {
			t.Errorf("slot %d: differs from Run by up to %.3f", i, maxd)
		}
	}
	a := newSession(t, p, Options{Width: w, Height: h, Device: "auto"})
	if a.Device() != "cuda:0" {
		t.Errorf("auto picked %s (fallback: %v)", a.Device(), a.Fallback())
	}
	// A GPU index that does not exist: one line, ErrNoCUDA, no crash.
	if s, err := New(p, Options{Width: w, Height: h, Device: "cuda:7"}); err == nil {
		s.Close()
		t.Error("cuda:7 on a one-GPU machine worked")
	} else {
		t.Logf("cuda:7: %v", err)
		if !errors.Is(err, ErrNoCUDA) || strings.Contains(err.Error(), "\n") {
			t.Errorf("cuda:7: %v", err)
		}
	}
	if fp, ok := FP16Variant(p); ok {
		s, err := New(fp, Options{Width: w, Height: h, Device: "cuda"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// The default on CUDA: batch 1, the file's norms as they are.
		if s.Batch() != 1 || s.Mend() != "" {
			t.Errorf("fp16 on cuda by default: batch %d, mend %q; want 1, none", s.Batch(), s.Mend())
		}
		out := zeros(1, w, h)
		if err := s.Run(in[:1], out); err != nil {
			t.Fatal(err)
		}
		plausible(t, "fp16 on gpu", out[0])
		d := psnr(out[0], oc[0])
		t.Logf("fp16 on gpu vs fp32 on cpu: PSNR %.1f dB", d)
		if d < 30 {
			t.Errorf("fp16 output too far from fp32: PSNR %.1f dB", d)
		}
	}
}

// TestGPUBatchesMatch: on CUDA, four frames in one batch, and one frame
// padded in a batch of four, give what each gives alone, fp32 and fp16.
func TestGPUBatchesMatch(t *testing.T) {
	needORT(t)
	models := checkBatches(t, "cuda", 256, 144, 35)
	// checkBatches checked the default mend (fold). What it mends: the
	// file as it is (logged, not checked: it depends on the ONNX Runtime
	// build); and the other mends, float32 norms and scaling the first
	// Conv (A/B candidates, checked like the default).
	if len(models) > 1 {
		for _, v := range []string{"keep", "float32", "scale"} {
			t.Setenv("VIDNST_FP16_NORMS", v)
			want := map[string]string{"float32": "fp16 norms: float32 (15)", "scale": "fp16 norms: scale (1)"}[v]
			if m := newSession(t, models[1], Options{Width: 256, Height: 144, Batch: 4, Threads: 2, Device: "cuda"}).Mend(); m != want {
				t.Errorf("VIDNST_FP16_NORMS=%s on cuda: the session says %q, want %q", v, m, want)
			}
			full, partial := batchPSNRs(t, models[1], "cuda", 256, 144)
			t.Logf("%s on cuda, VIDNST_FP16_NORMS=%s: batch of 4 vs one at a time %.1f dB, partial batch %.1f dB", filepath.Base(models[1]), v, full, partial)
			if v != "keep" && min(full, partial) < 35 {
				t.Errorf("VIDNST_FP16_NORMS=%s on cuda: a batch differs from one frame at a time (%.1f, %.1f dB)", v, full, partial)
			}
		}
	}
}

// TestGPUHalfIO: fp16 candy on CUDA with float16 tensors (the default
// where the CPU converts float16 in hardware) gives what it gives with
// float32 ones and the file's own Casts on the GPU: the same float16
// values reach the same kernels, though two sessions may pick different
// cuDNN algorithms, so the check is closeness (the rounding itself is
// checked bit for bit on the CPU, TestHalfIOSameOutput).
func TestGPUHalfIO(t *testing.T) {
	needORT(t)
	fp, ok := FP16Variant(sharedModel(t, "candy.onnx"))
	if !ok {
		t.Skip("SKIPPED: no fp16 candy")
	}
	const w, h = 256, 144
	in := [][]float32{scene(w, h, 0), scene(w, h, 5), scene(w, h, 9)}
	for i := range in[0] { // values float16 does not hold
		in[0][i] += 0.3
	}
	run := func(io string) ([][]float32, bool) {
		t.Setenv("VIDNST_FP16_IO", io)
		s := newSession(t, fp, Options{Width: w, Height: h, Batch: 4, Device: "cuda"})
		out := zeros(3, w, h)
		if err := s.Run(in, out); err != nil { // a padded partial batch
			t.Fatal(err)
		}
		return out, s.HalfIO()
	}
	want, h32 := run("off")
	got, h16 := run("")
	if h32 || h16 != half.Hardware() {
		t.Fatalf("float16 tensors: %v with VIDNST_FP16_IO=off, %v by default (F16C: %v)", h32, h16, half.Hardware())
	}
	if !h16 {
		t.Skip("SKIPPED: no F16C on this CPU, so the default is float32 tensors")
	}
	for i := range got {
		maxd, d := maxDiff(got[i], want[i]), psnr(got[i], want[i])
		t.Logf("frame %d: float16 vs float32 tensors on cuda: PSNR %.1f dB, max |diff| %.3f", i, d, maxd)
		if d < 50 {
			t.Errorf("frame %d: float16 tensors change the output: PSNR %.1f dB", i, d)
		}
	}
}

// TestGPUParallelExec: with Parallel 2 on CUDA (the default: two batches at
// once on two CUDA streams) the session has 4 slots, and batches run at
// once give what they give one at a time.
func TestGPUParallelExec(t *testing.T) {
	needORT(t)
	p := sharedModel(t, "candy.onnx")
	if fp, ok := FP16Variant(p); ok {
		p = fp
	}
	const w, h = 256, 144
	s := newSession(t, p, Options{Width: w, Height: h, Batch: 2, Device: "cuda", Parallel: 2})
	if s.Slots() != 4 || s.Parallel() != 2 {
		t.Fatalf("cuda, parallel 2: %d slots, parallel %d; want 4, 2", s.Slots(), s.Parallel())
	}
	in := make([][][]float32, 4)
	want := make([][][]float32, 4)
	for i := range in {
		in[i] = [][]float32{scene(w, h, 2*i), scene(w, h, 2*i+1)}
		want[i] = zeros(2, w, h)
		if err := s.Run(in[i], want[i]); err != nil {
			t.Fatal(err)
		}
	}
	for rep := range 3 {
		got := make([][][]float32, 4)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range 4 {
			got[i] = zeros(2, w, h)
			wg.Go(func() {
				if errs[i] = s.Load(i, in[i]); errs[i] == nil {
					if errs[i] = s.Exec(i); errs[i] == nil {
						errs[i] = s.Store(i, got[i])
					}
				}
			})
		}
		wg.Wait()
		for i := range 4 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			for f := range 2 {
				if d := maxDiff(got[i][f], want[i][f]); d > 0.5 {
					t.Errorf("rep %d slot %d frame %d: differs from one run at a time by up to %.3f", rep, i, f, d)
				}
			}
		}
	}
}

// BenchmarkRunGPU: inference-only frames/s on CUDA for the table:
// 1280x720 and 1920x1080, batch 1, 4, 8, fp32 and fp16. frames/s is the
// double-buffered throughput (the session's slots overlapped, as the
// pipeline runs them); serial-frames/s is one Run at a time.
//
//	go test -tags gpu ./stylize -run '^$' -bench RunGPU -benchtime 20x
func BenchmarkRunGPU(b *testing.B) {
	needORT(b)
	fp32 := sharedModel(b, "candy.onnx")
	fp16, ok := FP16Variant(fp32)
	for _, sz := range [][2]int{{1280, 720}, {1920, 1080}} {
		for _, batch := range []int{1, 4, 8} {
			for _, prec := range []string{"fp32", "fp16"} {
				p := fp32
				if prec == "fp16" {
					if !ok {
						continue
					}
					p = fp16
				}
				w, h := sz[0], sz[1]
				b.Run(fmt.Sprintf("%dx%d/batch%d/%s", w, h, batch, prec), func(b *testing.B) {
					s, err := New(p, Options{Width: w, Height: h, Batch: batch, Device: "cuda"})
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					in, out := make([][]float32, batch), zeros(batch, w, h)
					for i := range in {
						in[i] = scene(w, h, i)
					}
					if err := s.Run(in, out); err != nil { // warm-up: cuDNN autotuning
						b.Fatal(err)
					}
					// and every slot and runner once (a second run at once
					// makes its own CUDA stream and handles)
					if _, err := slottedFPS(s, in, out, s.Slots()); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					// The session's slots overlapped, as vidnst runs them.
					fps, err := slottedFPS(s, in, out, b.N)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					b.ReportMetric(fps, "frames/s")
					if s.HalfIO() {
						b.ReportMetric(1, "f16-io")
					}
					b.ReportMetric(float64(s.Slots()), "slots")
					b.ReportMetric(float64(s.Parallel()), "parallel")
					// One Run at a time: copies in, network, copies out.
					t0 := time.Now()
					for range 5 {
						if err := s.Run(in, out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(5*batch)/time.Since(t0).Seconds(), "serial-frames/s")
				})
			}
		}
	}
}

// BenchmarkVariantsGPU compares model files and CUDA provider options on
// the same frames: the output's PSNR against the first variant's (so a
// rewritten graph can be checked to compute the same thing), frames/s of
// plain Run calls (one frame at the default batch: 1 since stop 19, a
// frame padded to a batch of 4 before, so older rates do not compare),
// and frames/s with the session's slots overlapped
// the way pipeline.slottedStage runs them (copy in, GPU, copy out at once).
// VIDNST_VARIANTS is a comma-separated list of MODEL[@key=value;...] (the
// options go to VIDNST_CUDA_OPTIONS), VIDNST_VARIANT_SIZE WxH (default
// 1920x1080), VIDNST_VARIANT_DEVICE (default cuda) and
// VIDNST_VARIANT_FRAMES (default 40), VIDNST_VARIANT_BUFFERS (default: the
// device's).
//
//	VIDNST_VARIANTS=a.onnx,b.onnx@prefer_nhwc=1 go test -tags gpu ./stylize -run '^$' -bench VariantsGPU -benchtime 1x
func BenchmarkVariantsGPU(b *testing.B) {
	needORT(b)
	list := os.Getenv("VIDNST_VARIANTS")
	if list == "" {
		b.Skip("VIDNST_VARIANTS not set")
	}
	w, h := 1920, 1080
	if sz := os.Getenv("VIDNST_VARIANT_SIZE"); sz != "" {
		if _, err := fmt.Sscanf(sz, "%dx%d", &w, &h); err != nil {
			b.Fatalf("VIDNST_VARIANT_SIZE=%q: %v", sz, err)
		}
	}
	dev := cmp.Or(os.Getenv("VIDNST_VARIANT_DEVICE"), "cuda")
	n := 40
	if s := os.Getenv("VIDNST_VARIANT_FRAMES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	in := [][]float32{scene(w, h, 3)}
	var ref []float32
	for _, v := range strings.Split(list, ",") {
		path, opts, _ := strings.Cut(v, "@")
		b.Run(strings.NewReplacer("/", "_", "=", "-", ";", "+").Replace(filepath.Base(path)+"@"+opts), func(b *testing.B) {
			b.Setenv("VIDNST_CUDA_OPTIONS", strings.ReplaceAll(opts, ";", ","))
			bufs, _ := strconv.Atoi(os.Getenv("VIDNST_VARIANT_BUFFERS")) // 0: the device's default
			s, err := New(path, Options{Width: w, Height: h, Device: dev, Buffers: bufs})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			out := zeros(1, w, h)
			if err := s.Run(in, out); err != nil { // warm-up: cuDNN autotuning
				b.Fatal(err)
			}
			if ref == nil {
				ref = append([]float32(nil), out[0]...)
			} else {
				sum := 0.0
				for j := range ref {
					d := float64(out[0][j] - ref[j])
					sum += d * d
				}
				b.ReportMetric(10*math.Log10(255*255/max(sum/float64(len(ref)), 1e-12)), "dB")
			}
			for range b.N {
				t0 := time.Now()
				for range n {
					if err := s.Run(in, out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "run-frames/s")
				if s.Slots() < 2 {
					continue
				}
				fps, err := slottedFPS(s, in, out, n)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(fps, "slotted-frames/s")
			}
		})
	}
}

// slottedFPS runs n batches of in through s's slots the way
// pipeline.slottedStage does (a loader, Parallel() runners and a storer
// goroutine, so copies overlap the GPU) and returns frames per second.
func slottedFPS(s *Session, in, out [][]float32, n int) (float64, error) {
	t0 := time.Now()
	k := s.Slots()
	free, loaded, done := make(chan int, k), make(chan int, k), make(chan int, k)
	for i := range k {
		free <- i
	}
	errs := make(chan error, 1+s.Parallel())
	go func() {
		defer close(loaded)
		for range n {
			i := <-free
			if err := s.Load(i, in); err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			loaded <- i
		}
	}()
	var runners sync.WaitGroup
	for range max(1, s.Parallel()) {
		runners.Go(func() {
			for i := range loaded {
				if err := s.Exec(i); err != nil {
					select { // the first error is kept; the slot goes on
					case errs <- err:
					default:
					}
				}
				done <- i
			}
		})
	}
	go func() {
		runners.Wait()
		close(done)
	}()
	var err error
	for i := range done {
		if err == nil {
			err = s.Store(i, out)
		}
		free <- i
	}
	select {
	case e := <-errs:
		err = cmp.Or(e, err)
	default:
	}
	return float64(n*len(in)) / time.Since(t0).Seconds(), err
}
