//go:build gpu

package stylize

import (
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

func BenchmarkRunGPU(b *testing.B) {
	needORT(b)
	p := sharedModel(b, "candy.onnx")
	const w, h = 768, 432
	s, err := New(p, Options{Width: w, Height: h, Batch: 4, Device: "cuda"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in, out := make([][]float32, 4), zeros(4, w, h)
	for i := range in {
		in[i] = scene(w, h, i)
	}
	if err := s.Run(in, out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.Run(in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "frames/s")
}
