//go:build gpu

package stylize

import (
	"fmt"
	"math"
	"testing"
)

// GPU checks, built only with -tags gpu on a machine with an NVIDIA GPU,
// CUDA 12 + cuDNN 9 and the GPU build of ONNX Runtime:
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
	for i := range og {
		maxd := 0.0
		for j := range og[i] {
			maxd = max(maxd, math.Abs(float64(og[i][j]-oc[i][j])))
		}
		t.Logf("frame %d: max |gpu-cpu| = %.3f", i, maxd)
		if maxd > 2 {
			t.Errorf("frame %d: GPU and CPU differ by up to %.3f", i, maxd)
		}
	}
	a := newSession(t, p, Options{Width: w, Height: h, Device: "auto"})
	if a.Device() != "cuda:0" {
		t.Errorf("auto picked %s (fallback: %v)", a.Device(), a.Fallback())
	}
	if fp, ok := FP16Variant(p); ok {
		s, err := New(fp, Options{Width: w, Height: h, Device: "cuda"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out := zeros(1, w, h)
		if err := s.Run(in[:1], out); err != nil {
			t.Fatal(err)
		}
		plausible(t, "fp16 on gpu", out[0])
	}
}

// BenchmarkRunGPU: inference-only frames/s on CUDA for the table:
// 1280x720 and 1920x1080, batch 1, 4, 8, fp32 and fp16.
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
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if err := s.Run(in, out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "frames/s")
				})
			}
		}
	}
}
