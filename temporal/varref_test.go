package temporal

import (
	"fmt"
	"math"
	"testing"
	"unsafe"
)

// TestVarRefineSIMDIdentical: the variational refinement's AVX2 row
// kernels (data term, smoothness weights, right-hand side, SOR) give the
// same flow, bit for bit, as its Go loops, at widths that leave a Go tail
// after the 8-pixel groups, with one worker and with several (the
// wavefront's chunks and border triangles).
func TestVarRefineSIMDIdentical(t *testing.T) {
	if !simdCPU {
		t.Skip("no SIMD kernels on this CPU (needs amd64 with AVX2 and FMA)")
	}
	defer func() { haveSIMD = simdCPU }()
	ins, _, w, h := flickerSequence(t, 2)
	g0, g1 := make([]float32, w*h), make([]float32, w*h)
	Gray(g0, ins[0], w, h)
	Gray(g1, ins[1], w, h)
	crop := func(g []float32, cw, ch int) []float32 {
		o := make([]float32, cw*ch)
		for y := range ch {
			copy(o[y*cw:(y+1)*cw], g[y*w:y*w+cw])
		}
		return o
	}
	for _, tc := range []struct {
		w, h    int
		p       Preset
		workers int
	}{
		{256, 192, PresetFast, 1}, {251, 187, PresetMedium, 1}, {251, 187, PresetMedium, 3}, {101, 77, PresetFast, 2},
	} {
		t.Run(fmt.Sprintf("%dx%d/%v/workers=%d", tc.w, tc.h, tc.p, tc.workers), func(t *testing.T) {
			i0, i1 := crop(g0, tc.w, tc.h), crop(g1, tc.w, tc.h)
			var us, vs [2][]float32
			for k, simd := range []bool{true, false} {
				haveSIMD = simd
				e := NewEstimator(tc.w, tc.h, tc.p, tc.workers)
				us[k], vs[k] = make([]float32, tc.w*tc.h), make([]float32, tc.w*tc.h)
				e.Compute(i0, i1, us[k], vs[k])
				e.Close()
			}
			moved := 0
			for i := range us[0] {
				if math.Float32bits(us[0][i]) != math.Float32bits(us[1][i]) || math.Float32bits(vs[0][i]) != math.Float32bits(vs[1][i]) {
					t.Fatalf("pixel %d: flow (%v, %v) with AVX2, (%v, %v) without", i, us[0][i], vs[0][i], us[1][i], vs[1][i])
				}
				if us[0][i] != 0 || vs[0][i] != 0 {
					moved++
				}
			}
			if moved < len(us[0])/2 {
				t.Fatalf("only %d of %d pixels have a flow: the test images do not move", moved, len(us[0]))
			}
		})
	}
}

// TestKernelArgsLayout pins the argument structs' field offsets that
// varref_amd64.s and warp_amd64.s (hardMaskAVX2) read.
func TestKernelArgsLayout(t *testing.T) {
	var d vrDataArgs
	var s vrSORArgs
	var m hardMaskArgs
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"vrDataArgs.du", unsafe.Offsetof(d.du), 40},
		{"vrDataArgs.gyz", unsafe.Offsetof(d.gyz), 120},
		{"vrDataArgs.n", unsafe.Offsetof(d.n), 128},
		{"vrDataArgs.d2", unsafe.Offsetof(d.d2), 136},
		{"vrDataArgs.g2", unsafe.Offsetof(d.g2), 140},
		{"vrSORArgs.wy", unsafe.Offsetof(s.wy), 64},
		{"vrSORArgs.pitch", unsafe.Offsetof(s.pitch), 72},
		{"vrSORArgs.odd", unsafe.Offsetof(s.odd), 88},
		{"hardMaskArgs.fv", unsafe.Offsetof(m.fv), 64},
		{"hardMaskArgs.w", unsafe.Offsetof(m.w), 72},
		{"hardMaskArgs.n", unsafe.Offsetof(m.n), 96},
		{"hardMaskArgs.y", unsafe.Offsetof(m.y), 104},
		{"hardMaskArgs.scy", unsafe.Offsetof(m.scy), 108},
	} {
		if c.got != c.want {
			t.Errorf("%s at offset %d, the assembly reads it at %d", c.name, c.got, c.want)
		}
	}
}
