package pix

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantize covers the edge values of the rounding and clamping rule
// and compares the SIMD path with the scalar one on random rows of every
// length around the 32-sample step.
func TestQuantize(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	edge := []struct {
		in   float32
		want uint8
	}{
		{-1, 0}, {0, 0}, {0.49, 0}, {0.5, 1}, {1.5, 2}, {2.5, 3}, {127.4999, 127},
		{254.49, 254}, {254.5, 255}, {255, 255}, {300, 255}, {nan, 0}, {inf, 255}, {-inf, 0},
	}
	// The edge values at every position of a 64-sample row, so both paths see them.
	for pos := 0; pos < 64; pos++ {
		for _, e := range edge {
			src := make([]float32, 64)
			for i := range src {
				src[i] = 100
			}
			src[pos] = e.in
			dst := make([]uint8, 64)
			Quantize(dst, src)
			if dst[pos] != e.want {
				t.Fatalf("Quantize(%v) at %d = %d, want %d", e.in, pos, dst[pos], e.want)
			}
			if dst[(pos+1)%64] != 100 {
				t.Fatalf("neighbour of %d changed: %d", pos, dst[(pos+1)%64])
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	defer func() { haveSIMD = simdOK }()
	for n := 0; n < 140; n++ {
		src := make([]float32, n)
		for i := range src {
			src[i] = 300*rng.Float32() - 20
		}
		a, b := make([]uint8, n), make([]uint8, n)
		haveSIMD = simdOK
		Quantize(a, src)
		haveSIMD = false
		Quantize(b, src)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("n=%d: sample %d (%v): simd %d, scalar %d", n, i, src[i], a[i], b[i])
			}
		}
	}
}

// TestWiden checks every byte value at every position of a row, and random
// rows of every length around the step.
func TestWiden(t *testing.T) {
	for n := 0; n < 140; n++ {
		src := make([]uint8, n)
		for i := range src {
			src[i] = uint8(i*37 + n)
		}
		dst := make([]float32, n+1)
		dst[n] = -1
		Widen(dst, src)
		for i := range src {
			if dst[i] != float32(src[i]) {
				t.Fatalf("n=%d: sample %d = %v, want %d", n, i, dst[i], src[i])
			}
		}
		if dst[n] != -1 {
			t.Fatalf("n=%d: wrote past the row", n)
		}
	}
}

// simdOK is what this CPU supports; tests restore haveSIMD to it.
var simdOK = haveSIMD

// BenchmarkRow1920: one 1920-sample row each way, SIMD and scalar.
//
//	go test ./internal/pix -run '^$' -bench .
func BenchmarkRow1920(b *testing.B) {
	f := make([]float32, 1920)
	u := make([]uint8, 1920)
	for i := range f {
		f[i] = float32(i%300) - 20
	}
	for _, simd := range []bool{true, false} {
		if simd && !simdOK {
			continue
		}
		b.Run(fmt.Sprintf("quantize/simd=%v", simd), func(b *testing.B) {
			defer func() { haveSIMD = simdOK }()
			haveSIMD = simd
			b.SetBytes(1920)
			for b.Loop() {
				Quantize(u, f)
			}
		})
		b.Run(fmt.Sprintf("widen/simd=%v", simd), func(b *testing.B) {
			defer func() { haveSIMD = simdOK }()
			haveSIMD = simd
			b.SetBytes(1920)
			for b.Loop() {
				Widen(f, u)
			}
		})
	}
}
