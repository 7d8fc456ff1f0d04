package temporal

import (
	"fmt"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vidnst/vidnst/internal/frame"
)

// upscale2 doubles a grey image (bilinear), to benchmark near 1 megapixel.
func upscale2(src []float32, w, h int) []float32 {
	out := make([]float32, 4*w*h)
	for y := 0; y < 2*h; y++ {
		sy := min(max((float32(y)+0.5)/2-0.5, 0), float32(h-1))
		y0 := int(sy)
		y1 := min(y0+1, h-1)
		ay := sy - float32(y0)
		for x := 0; x < 2*w; x++ {
			sx := min(max((float32(x)+0.5)/2-0.5, 0), float32(w-1))
			x0 := int(sx)
			x1 := min(x0+1, w-1)
			ax := sx - float32(x0)
			a := src[y0*w+x0] + ax*(src[y0*w+x1]-src[y0*w+x0])
			b := src[y1*w+x0] + ax*(src[y1*w+x1]-src[y1*w+x0])
			out[y*2*w+x] = a + ay*(b-a)
		}
	}
	return out
}

func benchFlow(b *testing.B, p Preset) {
	dir := flowDir(b)
	i0, w, h := loadGray(b, filepath.Join(dir, "RubberWhale", "frame10.png"))
	i1, _, _ := loadGray(b, filepath.Join(dir, "RubberWhale", "frame11.png"))
	i0, i1, w, h = upscale2(i0, w, h), upscale2(i1, w, h), 2*w, 2*h
	for _, workers := range []int{1, 0} {
		name := "workers=1"
		if workers == 0 {
			name = "workers=all"
		}
		b.Run(fmt.Sprintf("%s/%dx%d", name, w, h), func(b *testing.B) {
			e := NewEstimator(w, h, p, workers)
			defer e.Close()
			u, v := make([]float32, w*h), make([]float32, w*h)
			e.Compute(i0, i1, u, v) // warm up
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				e.Compute(i0, i1, u, v)
			}
			cpu := cpuTime() - c0
			mp := float64(w*h) / 1e6
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N)/mp, "ms/MP")
			b.ReportMetric(cpu.Seconds()*1e3/float64(b.N)/mp, "cpu-ms/MP")
		})
	}
}

// BenchmarkFlowMedium: go test -run '^$' -bench 'Flow' -benchtime 10x ./temporal/
func BenchmarkFlowMedium(b *testing.B) { benchFlow(b, PresetMedium) }
func BenchmarkFlowFast(b *testing.B)   { benchFlow(b, PresetFast) }

// cpuTime is the process's user+system CPU time (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStage: one frame of the temporal stage at 384x216 on one
// worker: Prepare (two flows + confidence; runs concurrently with
// inference in the pipeline) and Apply (warp + combine).
func BenchmarkStage(b *testing.B) {
	const W, H = 384, 216
	for _, tc := range []struct {
		mode   Mode
		preset Preset
	}{{Blend, PresetMedium}, {Gradient, PresetMedium}, {Blend, PresetFast}, {Gradient, PresetFast}} {
		name := fmt.Sprintf("%v-%v-%dx%d-workers=1", tc.mode, tc.preset, W, H)
		benchStage(b, name, W, H, Options{Mode: tc.mode, Preset: tc.preset, Workers: 1})
	}
}

// BenchmarkStage1080: one 1920x1080 frame of the temporal stage with the
// CLI's defaults (fast flow, weight 1, flow at half size) on all cores:
// Prepare (one frame at a time on all cores) and Apply, gradient and blend;
// and prepare-lanes: Prepare's throughput with GOMAXPROCS/4 lanes (several
// frames' flows at once, as the pipeline runs on 8+ cores).
//
//	go test ./temporal -run '^$' -bench Stage1080 -benchtime 10x
func BenchmarkStage1080(b *testing.B) {
	for _, mode := range []Mode{Gradient, Blend} {
		benchStage(b, mode.String(), 1920, 1080, Options{Mode: mode, Preset: PresetFast, Weight: 1})
	}
}

// benchStage times Prepare and Apply of a stage with opt on W x H frames
// tiled from the moving texture of flickerSequence.
func benchStage(b *testing.B, name string, W, H int, opt Options) {
	ins, outs, w, h := flickerSequence(b, 2)
	tile := func(src []float32) []float32 {
		out := make([]float32, 3*W*H)
		for c := 0; c < 3; c++ {
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					out[c*W*H+y*W+x] = src[c*w*h+(y%h)*w+x%w]
				}
			}
		}
		return out
	}
	in0, in1, out1 := tile(ins[0]), tile(ins[1]), tile(outs[1])
	lanes := opt
	if lanes.Lanes == 0 {
		lanes.Lanes = max(1, runtime.GOMAXPROCS(0)/4)
	}
	opt.Lanes = 1
	s, err := NewStage(W, H, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	aux := make([]float32, s.AuxLen())
	out := make([]float32, len(out1))
	s.PrepareAux(in0, true, aux)
	s.ApplyAux(out1, aux)
	b.Run(name+"/prepare", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			in := in1
			if i%2 == 1 {
				in = in0
			}
			s.PrepareAux(in, false, aux)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/frame")
	})
	b.Run(name+"/prepare-lanes", func(b *testing.B) {
		s, err := NewStage(W, H, lanes)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		const pool = 8
		free, ready := make(chan *frame.Frame, pool), make(chan *frame.Frame, pool)
		for range pool {
			f := frame.New(W, H)
			f.Aux = make([]float32, s.AuxLen())
			free <- f
		}
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			defer close(ready)
			for i := 0; i < b.N+1; i++ {
				f := <-free
				copy(f.In, in0)
				if i%2 == 1 {
					copy(f.In, in1)
				}
				f.Reset = i == 0
				if err := s.Prepare(f); err != nil {
					panic(err)
				}
				ready <- f
			}
		}()
		for f := range ready {
			if s.async != nil {
				if err := s.async.wait(); err != nil {
					b.Fatal(err)
				}
			}
			free <- f
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/frame")
		b.ReportMetric(float64(len(s.lanes)), "lanes")
	})
	s.PrepareAux(in1, false, aux)
	b.Run(name+"/apply", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			copy(out, out1)
			s.ApplyAux(out, aux)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/frame")
	})
}
