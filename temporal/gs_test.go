package temporal

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGSListsMatchFullScan renders a sequence in Gradient mode with the
// wavefront sweeps over the unpinned-pixel lists (gsWave) and with the
// reference sweeps (one half-sweep after the other, scanning every pixel),
// at a weight that pins most pixels (the CLI's default) and one that pins
// none, on two to five workers, and requires bit-identical frames.
func TestGSListsMatchFullScan(t *testing.T) {
	ins, outs, w, h := flickerSequence(t, 6)
	for _, weight := range []float32{1, 0.8} {
		for _, workers := range []int{2, 3, 5} {
			listed := 0
			run := func(ref bool) [][]float32 {
				s, err := NewStage(w, h, Options{Mode: Gradient, Weight: weight, Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if ref {
					s.gsRef = s.gsSweepReference
				}
				var res [][]float32
				for i := range ins {
					out := append([]float32(nil), outs[i]...)
					s.Process(ins[i], out, i == 0)
					res = append(res, out)
				}
				if !ref {
					for _, c := range s.gsCnt {
						listed += int(c)
					}
				}
				return res
			}
			want, got := run(true), run(false)
			for i := range got {
				for j := range got[i] {
					if got[i][j] != want[i][j] {
						t.Fatalf("weight %v, %d workers: frame %d sample %d: %v, full scan %v", weight, workers, i, j, got[i][j], want[i][j])
					}
				}
			}
			// The last frame's lists: most pixels pinned at weight 1, none at 0.8.
			if weight == 1 && listed > w*h/2 || weight < 1 && listed != w*h {
				t.Fatalf("weight %v: %d of %d pixels listed", weight, listed, w*h)
			}
			t.Logf("weight %v, %d workers: %d of %d pixels listed in the last frame", weight, workers, listed, w*h)
		}
	}
}

// TestGSWaveMatchesReference: the wavefront gives the frame of the plain
// sweeps on random planes for every band layout from one band to one row
// per band, with most pixels pinned and with none, and confidences exactly
// on the pinning threshold (lambda*c = 1e4 at weight 1: not pinned).
func TestGSWaveMatchesReference(t *testing.T) {
	const w, h = 29, 19
	n := w * h
	rng := rand.New(rand.NewPCG(17, 18))
	for _, weight := range []float32{1, 0.8} {
		aux := make([]float32, 1+3*n)
		conf := aux[1+2*n:]
		for i := range conf {
			conf[i] = [4]float32{0.05, 0.1, 1, rng.Float32()}[rng.IntN(4)]
		}
		out0, warped := make([]float32, 3*n), make([]float32, 3*n)
		for i := range out0 {
			out0[i], warped[i] = 255*rng.Float32(), 255*rng.Float32()
		}
		for _, workers := range []int{1, 2, 3, 4, 7, 10, h} {
			var outs [2][]float32
			opt := Options{Mode: Gradient, Weight: weight, Workers: workers}
			outs[0] = sweepOnce(t, w, h, opt, aux, out0, warped, func(*Stage) {})
			outs[1] = sweepOnce(t, w, h, opt, aux, out0, warped, func(s *Stage) { s.gsRef = s.gsSweepReference })
			for i := range outs[0] {
				if outs[0][i] != outs[1][i] {
					t.Fatalf("weight %v, %d workers: sample %d (x %d, y %d): wavefront %v, reference %v", weight, workers, i, i%w, i/w%h, outs[0][i], outs[1][i])
				}
			}
		}
	}
}

// TestGSRowsSIMDIdentical: gsRow gives the same frame with gsAVX2 as
// with the Go loop alone, on rows whose listed pixels come in runs of
// every length (one to the whole row, touching both edges), widths that
// leave a remainder after the groups of eight, one or three workers, and
// at a weight that pins none (every row one run).
func TestGSRowsSIMDIdentical(t *testing.T) {
	if !simdCPU {
		t.Skip("no SIMD kernels on this CPU (needs amd64 with AVX2 and FMA)")
	}
	defer func() { haveSIMD = simdCPU }()
	rng := rand.New(rand.NewPCG(15, 16))
	for _, w := range []int{45, 64, 83} {
		const h = 17
		n := w * h
		aux := make([]float32, 1+3*n)
		conf := aux[1+2*n:]
		for y := range h {
			for x := 0; x < w; {
				k := 1 + rng.IntN(2*w/3)
				if y%5 == 0 {
					k = w // the whole row listed
				}
				c := float32(1) // pinned at weight 1
				if rng.IntN(3) > 0 || y%5 == 0 {
					c = 0.1 * rng.Float32()
				}
				for ; k > 0 && x < w; k, x = k-1, x+1 {
					conf[y*w+x] = c
				}
			}
		}
		out0, warped := make([]float32, 3*n), make([]float32, 3*n)
		for i := range out0 {
			out0[i], warped[i] = 255*rng.Float32(), 255*rng.Float32()
		}
		for _, c := range []struct {
			workers int
			weight  float32
		}{{1, 1}, {3, 1}, {1, 0.8}, {3, 0.8}} {
			workers := c.workers
			var outs [2][]float32
			for k, simd := range []bool{true, false} {
				opt := Options{Mode: Gradient, Weight: c.weight, Workers: workers}
				outs[k] = sweepOnce(t, w, h, opt, aux, out0, warped, func(*Stage) { haveSIMD = simd })
			}
			for i := range outs[0] {
				if outs[0][i] != outs[1][i] {
					t.Fatalf("w %d, %d workers, weight %v: sample %d (x %d, y %d): AVX2 %v, Go %v", w, workers, c.weight, i, i%w, i/w%h, outs[0][i], outs[1][i])
				}
			}
		}
	}
}

// sweepOnce runs blendRows and the sweeps of a new w x h stage with opt on
// a copy of out0, given aux (flow and confidence) and the warped previous
// output, after prep has set the stage up; it returns the frame.
func sweepOnce(t *testing.T, w, h int, opt Options, aux, out0, warped []float32, prep func(*Stage)) []float32 {
	t.Helper()
	s, err := NewStage(w, h, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	prep(s)
	copy(s.warped, warped)
	s.aux, s.out = aux, append([]float32(nil), out0...)
	s.blendRows(0, h)
	s.gsSweep()
	out := s.out
	s.aux, s.out = nil, nil
	return out
}

// gsSweepReference runs the sweeps the plain way: one half-sweep after
// the other over the whole frame, each scanning every pixel, on one
// goroutine.
func (s *Stage) gsSweepReference() {
	for range s.opt.GradientSweeps {
		for c := range 2 {
			s.gsRowsFullScan(c)
		}
	}
}

// gsRowsFullScan is the sweep as it was before the unpinned lists, on
// the whole frame: one red-black Gauss-Seidel half-sweep (colour color) of
// Gradient mode: out(p) = (lambda*c(p)*warped(p) +
// sum_q (out(q) + stylized(p) - stylized(q))) / (lambda*c(p) + deg(p)),
// with stylized kept in prevOut during Apply.
func (s *Stage) gsRowsFullScan(color int) {
	_, _, conf := s.flowConf()
	w, h := s.w, s.h
	n := w * h
	lam := s.lambda
	o0, o1, o2 := s.out[:n:n], s.out[n:2*n:2*n], s.out[2*n:3*n:3*n]
	s0, s1, s2 := s.prevOut[:n:n], s.prevOut[n:2*n:2*n], s.prevOut[2*n:3*n:3*n]
	w0, w1, w2 := s.warped[:n:n], s.warped[n:2*n:2*n], s.warped[2*n:3*n:3*n]
	for y := range h {
		inner := y > 0 && y < h-1
		for x := (y + color) & 1; x < w; x += 2 {
			p := y*w + x
			l := float32(lam * conf[p])
			if l > gsFrozen {
				continue // pinned to warped by blendRows
			}
			if inner && x > 0 && x < w-1 {
				inv := 1 / (l + 4)
				o0[p] = (float32(l*w0[p]) + float32(4*s0[p]) + o0[p-1] + o0[p+1] + o0[p-w] + o0[p+w] - s0[p-1] - s0[p+1] - s0[p-w] - s0[p+w]) * inv
				o1[p] = (float32(l*w1[p]) + float32(4*s1[p]) + o1[p-1] + o1[p+1] + o1[p-w] + o1[p+w] - s1[p-1] - s1[p+1] - s1[p-w] - s1[p+w]) * inv
				o2[p] = (float32(l*w2[p]) + float32(4*s2[p]) + o2[p-1] + o2[p+1] + o2[p-w] + o2[p+w] - s2[p-1] - s2[p+1] - s2[p-w] - s2[p+w]) * inv
				continue
			}
			nb, k := neighbours(p, x, y, w, h)
			inv := 1 / (l + float32(k))
			for _, pl := range [3][3][]float32{{o0, s0, w0}, {o1, s1, w1}, {o2, s2, w2}} {
				o, st, wp := pl[0], pl[1], pl[2]
				sum := float32(l*wp[p]) + float32(float32(k)*st[p])
				for _, q := range nb[:k] {
					sum += o[q] - st[q]
				}
				o[p] = sum * inv
			}
		}
	}
}

// BenchmarkGSSweeps1080: Gradient mode's sweeps on a 1080p frame at the
// CLI's default weight (1) where 2%, 10%, 30% or all of the pixels (in
// 24x24 blobs, as occlusions come) are not pinned (a synthetic setting),
// as gsSweep runs them (wave) and as plain half-sweeps, one after the
// other over the whole frame (plain: the order before the wavefront;
// with VIDNST_NOSIMD=1 also without gsAVX2, as before it). The stage uses
// GOMAXPROCS workers (the -cpu flag does not reach it here):
//
//	GOMAXPROCS=1 go test ./temporal -run '^$' -bench GSSweeps1080 -benchtime 10x
func BenchmarkGSSweeps1080(b *testing.B) {
	const w, h = 1920, 1080
	n := w * h
	aux := make([]float32, 1+3*n)
	conf := aux[1+2*n : 1+3*n]
	out := make([]float32, 3*n)
	for _, pct := range []int{2, 10, 30, 100} {
		for _, order := range []string{"wave", "plain"} {
			b.Run(fmt.Sprintf("%s/%d%%", order, pct), func(b *testing.B) {
				for i := range conf {
					conf[i] = 1
				}
				for k := 0; k < n*pct/100/(24*24); k++ {
					x0, y0 := (k*7919)%(w-24), (k*104729)%(h-24)
					for y := y0; y < y0+24; y++ {
						for x := x0; x < x0+24; x++ {
							conf[y*w+x] = 0.05
						}
					}
				}
				if pct == 100 {
					clear(conf)
				}
				for i := range out {
					out[i] = float32(i % 251)
				}
				s, err := NewStage(w, h, Options{Mode: Gradient, Weight: 1})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.aux, s.out = aux, out
				defer func() { s.aux, s.out = nil, nil }()
				copy(s.prevOut, out)
				copy(s.warped, out)
				s.run.Run(h, s.kBlend) // lists the unpinned pixels
				listed := 0
				for _, c := range s.gsCnt {
					listed += int(c)
				}
				if order == "plain" {
					var c int
					half := func(lo, hi int) {
						for y := lo; y < hi; y++ {
							s.gsRow(y, c, false)
						}
					}
					s.gsRef = func() {
						for range s.opt.GradientSweeps {
							for c = range 2 {
								s.run.Run(h, half)
							}
						}
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					s.gsSweep()
				}
				b.ReportMetric(float64(listed)/float64(n), "listed")
			})
		}
	}
}

// TestBlendSIMDIdentical: blendRows gives the same out, stylized copy and
// unpinned lists with the AVX2 loop as with the Go one, in both modes,
// with confidences on both sides of the pinning threshold.
func TestBlendSIMDIdentical(t *testing.T) {
	if !simdCPU {
		t.Skip("no SIMD kernels on this CPU (needs amd64 with AVX2 and FMA)")
	}
	defer func() { haveSIMD = simdCPU }()
	const w, h = 37, 19 // rows that leave a tail after the 8-sample steps
	n := w * h
	rng := rand.New(rand.NewPCG(11, 12))
	for _, mode := range []Mode{Blend, Gradient} {
		for _, weight := range []float32{1, 0.8} {
			var outs [2][]float32
			var prevs [2][]float32
			var cnts [2][]int32
			aux := make([]float32, 1+3*n)
			for i := range aux {
				aux[i] = rng.Float32()
			}
			conf := aux[1+2*n:]
			for i := range conf {
				switch rng.IntN(4) {
				case 0:
					conf[i] = 0
				case 1:
					conf[i] = 0.1 // lambda*c = 1e4 at weight 1: not pinned (strictly greater pins)
				case 2:
					conf[i] = 1
				}
			}
			out0 := make([]float32, 3*n)
			warped := make([]float32, 3*n)
			for i := range out0 {
				out0[i], warped[i] = 255*rng.Float32(), 255*rng.Float32()
			}
			for k, simd := range []bool{true, false} {
				s, err := NewStage(w, h, Options{Mode: mode, Weight: weight, Workers: 1})
				if err != nil {
					t.Fatal(err)
				}
				haveSIMD = simd
				copy(s.warped, warped)
				s.aux, s.out = aux, append([]float32(nil), out0...)
				s.blendRows(0, h)
				outs[k], prevs[k], cnts[k] = s.out, append([]float32(nil), s.prevOut...), append([]int32(nil), s.gsCnt...)
				s.aux, s.out = nil, nil
				s.Close()
			}
			for i := range outs[0] {
				if outs[0][i] != outs[1][i] || prevs[0][i] != prevs[1][i] {
					t.Fatalf("%v weight %v: sample %d: out %v / %v, stylized %v / %v", mode, weight, i, outs[0][i], outs[1][i], prevs[0][i], prevs[1][i])
				}
			}
			for i := range cnts[0] {
				if cnts[0][i] != cnts[1][i] {
					t.Fatalf("%v weight %v: list counts differ at %d", mode, weight, i)
				}
			}
		}
	}
}
