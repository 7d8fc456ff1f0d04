//go:build gpu

package pipeline

// GPU end-to-end benchmark, built only with -tags gpu (scripts/gpu-check.sh
// runs it on the GPU machine). The GPU machine has no FFmpeg libraries, so
// the source and sink here stand in for decode and encode: the source
// delivers real frames (JPEGs of a real clip upscaled to 1920x1080, made by
// scripts/gpu-check.sh --prepare and decoded once into memory) by copying
// them into pool frames, as the decoder's converter does; the sink converts
// each finished frame to 8-bit yuv420p, as the encoder's converter does.
// Everything between them is the real pipeline: the CUDA session with its
// double buffering and the temporal stage on the CPU.
//
//	VIDNST_GPU_FRAMES=DIR go test -tags gpu ./pipeline -run '^$' -bench EndToEndGPU

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/stylize"
	"github.com/vidnst/vidnst/temporal"
)

// memSource cycles through decoded frames until n have been delivered.
type memSource struct {
	frames [][]float32
	n, i   int
}

func (s *memSource) Next(ctx context.Context, f *frame.Frame) error {
	if s.i >= s.n {
		return io.EOF
	}
	copy(f.In, s.frames[s.i%len(s.frames)])
	f.PTS = int64(s.i)
	s.i++
	return nil
}

// countSource delivers n frames without touching their pixels.
type countSource struct{ n, i int }

func (s *countSource) Next(ctx context.Context, f *frame.Frame) error {
	if s.i >= s.n {
		return io.EOF
	}
	f.PTS = int64(s.i)
	s.i++
	return nil
}

// dropSink drops every frame.
type dropSink struct{}

func (dropSink) Write(*frame.Frame) error { return nil }

// yuvSink converts each frame to 8-bit BT.709 limited-range yuv420p,
// row-parallel, and drops it.
type yuvSink struct {
	w, h    int
	y, u, v []byte
}

func (s *yuvSink) Write(f *frame.Frame) error {
	w, h, n := s.w, s.h, s.w*s.h
	r, g, b := f.Out[:n:n], f.Out[n:2*n:2*n], f.Out[2*n:3*n:3*n]
	clamp := func(x float32) float32 { return min(max(x, 0), 255) }
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	rowsPer := (h/2 + workers - 1) / workers
	for k := range workers {
		lo, hi := k*rowsPer, min((k+1)*rowsPer, h/2)
		if lo >= hi {
			break
		}
		wg.Go(func() {
			for cy := lo; cy < hi; cy++ {
				for cx := 0; cx < w/2; cx++ {
					var sr, sg, sb float32
					for dy := range 2 {
						for dx := range 2 {
							p := (2*cy+dy)*w + 2*cx + dx
							rr, gg, bb := clamp(r[p]), clamp(g[p]), clamp(b[p])
							s.y[p] = byte(16 + (0.2126*rr+0.7152*gg+0.0722*bb)*219/255 + 0.5)
							sr, sg, sb = sr+rr, sg+gg, sb+bb
						}
					}
					sr, sg, sb = sr/4, sg/4, sb/4
					c := cy*(w/2) + cx
					s.u[c] = byte(128 + (-0.1146*sr-0.3854*sg+0.5*sb)*224/255 + 0.5)
					s.v[c] = byte(128 + (0.5*sr-0.4542*sg-0.0458*sb)*224/255 + 0.5)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// loadFrames decodes every .jpg in dir (sorted) into planar RGB 0..255.
func loadFrames(tb testing.TB, dir string) (frames [][]float32, w, h int) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	sort.Strings(names)
	if len(names) == 0 {
		tb.Fatalf("no .jpg frames in %s", dir)
	}
	for _, name := range names {
		fh, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		img, err := jpeg.Decode(fh)
		fh.Close()
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		bd := img.Bounds()
		w, h = bd.Dx(), bd.Dy()
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Rect, img, bd.Min, draw.Src)
		n := w * h
		p := make([]float32, 3*n)
		for i := range n {
			px := rgba.Pix[4*i : 4*i+3 : 4*i+3]
			p[i], p[n+i], p[2*n+i] = float32(px[0]), float32(px[1]), float32(px[2])
		}
		frames = append(frames, p)
	}
	return frames, w, h
}

// envCombos parses "BxS,BxSu": batch size x buffer slots (0: the
// session's default), u for pageable (not page-locked) host memory.
func envCombos(name, def string) [][3]int {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	var out [][3]int
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		u := 0
		if strings.HasSuffix(s, "u") {
			s, u = strings.TrimSuffix(s, "u"), 1
		}
		var b, k int
		if _, err := fmt.Sscanf(s, "%dx%d", &b, &k); err == nil {
			out = append(out, [3]int{b, k, u})
		}
	}
	return out
}

// BenchmarkEndToEndGPU reports, for each batch size and temporal mode,
// inference-only frames/s (Session.Run on the same frames, one at a time;
// and the session's slots overlapped in the pipeline, with no copies in or
// out) and the pipeline's end-to-end frames/s; end to end over overlapped
// inference-only is the efficiency.
func BenchmarkEndToEndGPU(b *testing.B) {
	dir := os.Getenv("VIDNST_GPU_FRAMES")
	if dir == "" {
		b.Skip("SKIPPED: set VIDNST_GPU_FRAMES to a folder of 1920x1080 .jpg frames (scripts/gpu-check.sh --prepare makes one)")
	}
	if err := stylize.Init(""); err != nil {
		b.Fatal(err)
	}
	model := os.Getenv("VIDNST_GPU_MODEL")
	if model == "" {
		model = filepath.Join(os.Getenv("VIDNST_MODEL_DIR"), "fp16", "candy-fp16.onnx")
	}
	device := os.Getenv("VIDNST_GPU_DEVICE") // "cpu" for a smoke test here
	if device == "" {
		device = "cuda"
	}
	frames, w, h := loadFrames(b, dir)
	total := 96 // frames per pipeline run
	if n, err := strconv.Atoi(os.Getenv("VIDNST_GPU_TOTAL")); err == nil && n > 0 {
		total = n
	}
	// VIDNST_GPU_DEPTH=N: the pipeline's channel depth (0: its default),
	// for A/B runs.
	depth, _ := strconv.Atoi(os.Getenv("VIDNST_GPU_DEPTH"))
	for _, combo := range envCombos("VIDNST_GPU_RUNS", "1x0,4x0,1x0u") {
		batch, buffers := combo[0], combo[1]
		pinned := "pinned"
		if combo[2] == 1 {
			pinned = "pageable"
			os.Setenv("VIDNST_PINNED", "0")
		}
		sess, err := stylize.New(model, stylize.Options{Width: w, Height: h, Batch: batch, Device: device, Buffers: buffers})
		if err != nil {
			b.Fatal(err)
		}
		outs := make([][]float32, batch)
		for i := range outs {
			outs[i] = make([]float32, 3*w*h)
		}
		infer := func() {
			for i := 0; i < total; i += batch {
				ins := make([][]float32, 0, batch)
				for j := i; j < i+batch && j < total; j++ {
					ins = append(ins, frames[j%len(frames)])
				}
				if err := sess.Run(ins, outs[:len(ins)]); err != nil {
					b.Fatal(err)
				}
			}
		}
		os.Unsetenv("VIDNST_PINNED")
		if sess.Pinned() != (pinned == "pinned") && device != "cpu" {
			b.Logf("host memory: asked for %s, got pinned=%v", pinned, sess.Pinned())
		}
		infer() // warm-up: cuDNN autotuning (once per batch shape)
		b.Run(fmt.Sprintf("%dx%d/batch%d/slots%d/%s/inference-only", w, h, batch, sess.Slots(), pinned), func(b *testing.B) {
			for range b.N {
				infer()
			}
			b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "frames/s")
		})
		// The same network double-buffered through the pipeline, with a
		// source that copies nothing and a sink that drops: the most the
		// GPU path can do, and what end to end is measured against.
		b.Run(fmt.Sprintf("%dx%d/batch%d/slots%d/%s/inference-only-overlapped", w, h, batch, sess.Slots(), pinned), func(b *testing.B) {
			for range b.N {
				st, err := Run(context.Background(), Config{Width: w, Height: h, Depth: depth, Styler: sess, Source: &countSource{n: total}, Sink: dropSink{}})
				if err != nil {
					b.Fatal(err)
				}
				if st.Frames != total {
					b.Fatalf("%d frames written, want %d", st.Frames, total)
				}
			}
			b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "frames/s")
		})
		// VIDNST_GPU_LANES="1,0": the temporal stage's lanes (0: its default)
		// for A/B runs on one machine.
		lanes := []int{0}
		if v := os.Getenv("VIDNST_GPU_LANES"); v != "" {
			lanes = lanes[:0]
			for _, x := range strings.Split(v, ",") {
				n, err := strconv.Atoi(x)
				if err != nil {
					b.Fatalf("VIDNST_GPU_LANES=%q: %v", v, err)
				}
				lanes = append(lanes, n)
			}
		}
		for _, lane := range lanes {
			for _, mode := range []temporal.Mode{temporal.Off, temporal.Gradient, temporal.Blend} {
				if mode == temporal.Off && lane != lanes[0] {
					continue
				}
				name := fmt.Sprintf("%dx%d/batch%d/slots%d/%s/end-to-end/temporal-%s", w, h, batch, sess.Slots(), pinned, mode)
				if len(lanes) > 1 && mode != temporal.Off {
					name += fmt.Sprintf("/lanes%d", lane)
				}
				b.Run(name, func(b *testing.B) {
					for range b.N {
						cfg := Config{Width: w, Height: h, Depth: depth, Styler: sess,
							Source: &memSource{frames: frames, n: total},
							Sink:   &yuvSink{w: w, h: h, y: make([]byte, w*h), u: make([]byte, w*h/4), v: make([]byte, w*h/4)}}
						if mode != temporal.Off {
							st, err := temporal.NewStage(w, h, temporal.Options{Mode: mode, Weight: 1, Preset: temporal.PresetFast, Lanes: lane})
							if err != nil {
								b.Fatal(err)
							}
							cfg.Temporal, cfg.AuxLen = st, st.AuxLen()
							defer st.Close()
						}
						st, err := Run(context.Background(), cfg)
						if err != nil {
							b.Fatal(err)
						}
						if st.Frames != total {
							b.Fatalf("%d frames written, want %d", st.Frames, total)
						}
					}
					b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "frames/s")
				})
			}
		}
		sess.Close()
	}
}
