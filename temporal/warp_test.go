package temporal

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWarpSIMDMatchesScalar compares the SIMD warp (where this CPU has it)
// with the scalar one on random images and flows that reach past every
// border, at widths that leave partial groups, and on integer shifts,
// which both must reproduce exactly.
func TestWarpSIMDMatchesScalar(t *testing.T) {
	if !simdCPU {
		t.Skip("no SIMD warp on this CPU (needs amd64 with AVX2 and FMA); the scalar path is what runs")
	}
	defer func() { haveSIMD = simdCPU }()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		w, h  int
		scale float32 // flow magnitude
		integ bool
		edges bool // targets on the interior's limits instead
	}{
		{8, 8, 1, false, false}, {9, 7, 3, false, false}, {37, 23, 2, false, false}, {64, 48, 0.75, false, false},
		{131, 67, 6, false, false}, {200, 9, 40, false, false}, {96, 54, 5, true, false},
		{64, 16, 0, false, true}, {41, 33, 0, false, true},
	} {
		t.Run(fmt.Sprintf("%dx%d/flow=%v/integer=%v/edges=%v", tc.w, tc.h, tc.scale, tc.integ, tc.edges), func(t *testing.T) {
			n := tc.w * tc.h
			src := make([]float32, 3*n)
			for i := range src {
				src[i] = 255 * rng.Float32()
			}
			u, v := make([]float32, n), make([]float32, n)
			for i := range u {
				u[i] = tc.scale * (2*rng.Float32() - 1)
				v[i] = tc.scale * (2*rng.Float32() - 1)
				if tc.integ {
					u[i], v[i] = float32(math.Round(float64(u[i]))), float32(math.Round(float64(v[i])))
				}
			}
			if tc.edges { // land exactly on, and just beside, the interior's limits
				xt := []float32{-2, -1, -0.5, 0, 0.999, 1, 1.001, 2.5}
				for i := range u {
					x, y := float32(i%tc.w), float32(i/tc.w)
					fw, fh := float32(tc.w), float32(tc.h)
					tx := append(xt, fw-3, fw-2.999, fw-2.001, fw-2, fw-1, fw, fw+1, 1e30, -1e30)
					ty := append(xt, fh-3, fh-2.999, fh-2.001, fh-2, fh-1, fh, fh+1, 1e30, -1e30)
					if i/tc.w%2 == 0 { // whole rows at the interior's very limits: the SIMD groups
						tx = []float32{1, 1.001, 2.5, fw - 3, fw - 2.999, fw - 2.001}
						ty = []float32{1, 1.001, 2.5, fh - 3, fh - 2.999, fh - 2.001}
					}
					u[i] = tx[rng.IntN(len(tx))] - x
					v[i] = ty[rng.IntN(len(ty))] - y
				}
			}
			u[0], v[n-1] = float32(math.NaN()), float32(math.Inf(1)) // must not crash either path
			simd := make([]float32, 3*n)
			Warp(simd, src, 3, tc.w, tc.h, u, v)
			haveSIMD = false
			scalar := make([]float32, 3*n)
			Warp(scalar, src, 3, tc.w, tc.h, u, v)
			haveSIMD = simdCPU
			var worst float64
			for i := range simd {
				if i%n == 0 || i%n == n-1 {
					continue // the NaN / Inf pixels
				}
				d := math.Abs(float64(simd[i] - scalar[i]))
				if tc.integ && d != 0 {
					t.Fatalf("integer flow: pixel %d: simd %v, scalar %v", i, simd[i], scalar[i])
				}
				worst = max(worst, d)
			}
			if worst > 1e-3 {
				t.Errorf("largest difference %.3g grey levels, want <= 1e-3", worst)
			}
		})
	}
}

// BenchmarkWarp1080: the bicubic warp of a 1920x1080 RGB frame on one
// core, SIMD (where present) and scalar.
//
//	go test ./temporal -run '^$' -bench Warp1080 -cpu 1
func BenchmarkWarp1080(b *testing.B) {
	const w, h = 1920, 1080
	n := w * h
	src, dst := make([]float32, 3*n), make([]float32, 3*n)
	u, v := make([]float32, n), make([]float32, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range src {
		src[i] = 255 * rng.Float32()
	}
	for i := range u {
		u[i], v[i] = 3*rng.Float32()-1.5, 3*rng.Float32()-1.5
	}
	defer func() { haveSIMD = simdCPU }()
	for _, simd := range []bool{true, false} {
		b.Run(fmt.Sprintf("simd=%v", simd), func(b *testing.B) {
			if simd && !simdCPU {
				b.Skip("no SIMD warp on this CPU")
			}
			haveSIMD = simd
			b.ReportAllocs()
			for b.Loop() {
				Warp(dst, src, 3, w, h, u, v)
			}
		})
	}
}

// TestUpsampleScaledMatchesBilinear checks upsampleScaled against the plain
// per-pixel bilinear formula (pixel centres aligned, clamped at the
// edges) for even and odd factors and fine sizes that do not divide.
func TestUpsampleScaledMatchesBilinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ cw, ch, f, fw, fh int }{
		{6, 5, 2, 12, 10}, {6, 5, 2, 11, 9}, {7, 4, 4, 28, 16}, {7, 4, 4, 26, 13},
		{5, 3, 8, 40, 24}, {5, 3, 8, 37, 20}, {4, 4, 3, 12, 12}, {9, 2, 1, 9, 2}, {1, 1, 4, 4, 4}, {3, 2, 32, 96, 64}, {3, 2, 32, 90, 60},
	} {
		c := make([]float32, tc.cw*tc.ch)
		for i := range c {
			c[i] = 20*rng.Float32() - 10
		}
		got := make([]float32, tc.fw*tc.fh)
		upsampleScaled(c, tc.cw, tc.ch, got, tc.fw, 0, tc.fh, tc.f, 1.5)
		inv := 1 / float64(tc.f)
		for y := 0; y < tc.fh; y++ {
			cy := min(max((float64(y)+0.5)*inv-0.5, 0), float64(tc.ch-1))
			y0 := int(cy)
			y1, ay := min(y0+1, tc.ch-1), cy-float64(y0)
			for x := 0; x < tc.fw; x++ {
				cx := min(max((float64(x)+0.5)*inv-0.5, 0), float64(tc.cw-1))
				x0 := int(cx)
				x1, ax := min(x0+1, tc.cw-1), cx-float64(x0)
				at := func(x, y int) float64 { return float64(c[y*tc.cw+x]) }
				a := at(x0, y0) + ax*(at(x1, y0)-at(x0, y0))
				b := at(x0, y1) + ax*(at(x1, y1)-at(x0, y1))
				want := 1.5 * (a + ay*(b-a))
				if d := math.Abs(float64(got[y*tc.fw+x]) - want); d > 1e-4 {
					t.Fatalf("%+v: (%d,%d) = %v, want %v", tc, x, y, got[y*tc.fw+x], want)
				}
			}
		}
	}
}

// TestUpsampleSIMDIdentical: the AVX2 row kernels give exactly the Go
// loops' results, across the 256-column chunks and with fine widths that
// cut the last interval short.
func TestUpsampleSIMDIdentical(t *testing.T) {
	if !simdCPU {
		t.Skip("no SIMD kernels on this CPU (needs amd64 with AVX2 and FMA); the Go path is what runs")
	}
	defer func() { haveSIMD = simdCPU }()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ cw, ch, f, fw, fh int }{
		{960, 9, 2, 1920, 18}, {961, 5, 2, 1921, 10}, {600, 7, 2, 1197, 13}, {240, 6, 4, 960, 24},
		{300, 5, 4, 1195, 20}, {17, 3, 4, 66, 12}, {9, 4, 2, 18, 8}, {600, 4, 8, 4800, 32},
	} {
		c := make([]float32, tc.cw*tc.ch)
		for i := range c {
			c[i] = 40*rng.Float32() - 20
		}
		got, want := make([]float32, tc.fw*tc.fh), make([]float32, tc.fw*tc.fh)
		haveSIMD = true
		upsampleScaled(c, tc.cw, tc.ch, got, tc.fw, 0, tc.fh, tc.f, float32(tc.f))
		haveSIMD = false
		upsampleScaled(c, tc.cw, tc.ch, want, tc.fw, 0, tc.fh, tc.f, float32(tc.f))
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: sample %d (%d,%d): simd %v, go %v", tc, i, i%tc.fw, i/tc.fw, got[i], want[i])
			}
		}
	}
}

// TestSoftenMatchesReference: the confidence's 5x5 box blur (SIMD rows,
// unclamped interior) equals the plain clamped formula exactly.
func TestSoftenMatchesReference(t *testing.T) {
	defer func() { haveSIMD = simdCPU }()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, w := range []int{1, 3, 5, 12, 13, 40, 97} {
		const h = 7
		m := make([]float32, w*h)
		for i := range m {
			if rng.IntN(3) > 0 {
				m[i] = 1
			}
		}
		ref := make([]float32, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if m[y*w+x] == 0 {
					continue
				}
				var v float32
				for j := -2; j <= 2; j++ {
					var r float32
					for k := -2; k <= 2; k++ {
						r += m[min(max(y+j, 0), h-1)*w+min(max(x+k, 0), w-1)]
					}
					v += float32(r * 0.2) // rounded, as box5AVX2 (no FMA)
				}
				ref[y*w+x] = v * 0.2
			}
		}
		for _, simd := range []bool{true, false} {
			haveSIMD = simd && simdCPU
			tmp, got := make([]float32, w*h), append([]float32(nil), m...)
			softenRows(tmp, got, w, h, 0, h, true)
			softenRows(got, tmp, w, h, 0, h, false)
			for i := range got {
				if got[i] != ref[i] {
					t.Fatalf("w=%d simd=%v: sample %d = %v, want %v", w, simd, i, got[i], ref[i])
				}
			}
		}
	}
}

// simdCPU is what this CPU supports; tests that switch haveSIMD restore it.
var simdCPU = haveSIMD

// TestHardMaskSIMDIdentical: the forward-backward and motion-boundary mask
// of the AVX2 loop equals the Go loop's, pixel for pixel and in its count
// of occluded pixels, on flows that leave the frame, pass and fail the
// forward-backward check, and have motion boundaries, at widths that leave
// a Go tail (and one too narrow for a group).
func TestHardMaskSIMDIdentical(t *testing.T) {
	if !simdCPU {
		t.Skip("no SIMD kernels on this CPU (needs amd64 with AVX2 and FMA)")
	}
	defer func() { haveSIMD = simdCPU }()
	rng := rand.New(rand.NewPCG(21, 22))
	for _, sz := range [][2]int{{9, 7}, {10, 5}, {37, 19}, {64, 16}, {131, 67}} {
		w, h := sz[0], sz[1]
		n := w * h
		bu, bv := make([]float32, n), make([]float32, n)
		// NaN past the forward flow's end: a tap index past the image
		// (a wrong clamp) shows, even where its weight is 0.
		fu, fv := make([]float32, n+4*w), make([]float32, n+4*w)
		for i := n; i < len(fu); i++ {
			fu[i], fv[i] = float32(math.NaN()), float32(math.NaN())
		}
		fu, fv = fu[:n], fv[:n]
		for y := range h {
			for x := range w {
				i := y*w + x
				// Smooth motion, a few large jumps (boundaries, leaving the frame).
				bu[i] = 1.5*float32(x)/float32(w) - 0.5
				bv[i] = 0.7 - float32(y)/float32(h)
				if rng.IntN(8) == 0 {
					bu[i] += (rng.Float32() - 0.5) * float32(w)
				}
				if rng.IntN(8) == 0 {
					bv[i] += (rng.Float32() - 0.5) * 0.6 * float32(h)
				}
				// Targets exactly on the frame's limits (kept: the test is strict).
				switch rng.IntN(16) {
				case 0:
					bu[i] = -0.5 - float32(x)
				case 1:
					bu[i] = float32(w) - 0.5 - float32(x)
				case 2:
					bv[i] = -0.5 - float32(y)
				case 3:
					bv[i] = float32(h) - 0.5 - float32(y)
				}
				// The forward flow mostly undoes it; sometimes not.
				fu[i], fv[i] = -(1.5*float32(x)/float32(w) - 0.5), -(0.7 - float32(y)/float32(h))
				if rng.IntN(3) == 0 {
					fu[i] += 4 * (rng.Float32() - 0.5)
					fv[i] += 4 * (rng.Float32() - 0.5)
				}
			}
		}
		var masks [2][]float32
		var occs [2]int
		for k, simd := range []bool{true, false} {
			haveSIMD = simd
			masks[k] = make([]float32, n)
			occs[k] = hardMaskRows(masks[k], bu, bv, fu, fv, w, h, 0, h)
		}
		var kept, occ int
		for i := range masks[0] {
			if math.Float32bits(masks[0][i]) != math.Float32bits(masks[1][i]) {
				t.Fatalf("%dx%d: pixel (%d, %d): mask %v with AVX2, %v without", w, h, i%w, i/w, masks[0][i], masks[1][i])
			}
			if masks[0][i] == 1 {
				kept++
			}
		}
		if occs[0] != occs[1] {
			t.Fatalf("%dx%d: %d occluded with AVX2, %d without", w, h, occs[0], occs[1])
		}
		occ = occs[0]
		if w >= 37 && (kept == 0 || kept == n || occ == 0) {
			t.Fatalf("%dx%d: %d of %d kept, %d occluded: the flows do not exercise every outcome", w, h, kept, n, occ)
		}
	}
}
