package half

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sameHalf: a and b are the same float16, or both NaN.
func sameHalf(a, b uint16) bool {
	nan := func(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }
	return a == b || nan(a) && nan(b)
}

// FromFloat32s and ToFloat32s give what the one-value functions give, with
// and without the hardware kernels, at lengths around the kernels' step.
func TestSlicesMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var src []float32
	for h := range 1 << 16 { // every float16, and the points halfway to the next
		v := ToFloat32(uint16(h))
		src = append(src, v, math.Float32frombits(math.Float32bits(v)+1<<12), math.Float32frombits(math.Float32bits(v)+1<<12+1))
	}
	for range 1 << 18 { // any float32
		src = append(src, math.Float32frombits(rng.Uint32()))
	}
	for range 1 << 16 { // pixel values
		src = append(src, 255*rng.Float32(), float32(rng.IntN(256)))
	}
	halves := make([]uint16, 1<<16)
	for i := range halves {
		halves[i] = uint16(i)
	}
	for _, hw := range []bool{false, true} {
		if hw && !haveF16C {
			t.Log("no F16C on this CPU: only the Go path is tested")
			continue
		}
		saved := haveF16C
		haveF16C = hw
		for _, n := range []int{0, 1, 31, 32, 33, 95, 1000, len(src)} {
			dst := make([]uint16, n)
			FromFloat32s(dst, src[:n])
			for i, f := range src[:n] {
				if want := FromFloat32(f); !sameHalf(dst[i], want) {
					t.Fatalf("hw %v, n %d: FromFloat32s(%v [%#08x]) = %#04x, want %#04x", hw, n, f, math.Float32bits(f), dst[i], want)
				}
			}
		}
		for _, n := range []int{0, 5, 32, 100, len(halves)} {
			dst := make([]float32, n)
			ToFloat32s(dst, halves[:n])
			for i, h := range halves[:n] {
				want := ToFloat32(h)
				if dst[i] != want && !(dst[i] != dst[i] && want != want) || math.Signbit(float64(dst[i])) != math.Signbit(float64(want)) {
					t.Fatalf("hw %v: ToFloat32s(%#04x) = %v, want %v", hw, h, dst[i], want)
				}
			}
		}
		haveF16C = saved
	}
}

// The fast path of FromFloat32 (normal float16 results) agrees with the
// general rounding it skips, at its edges.
func TestFromFloat32Edges(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{1.0 / 16384, 0x0400},               // smallest normal
		{1.0/16384 - 1.0/(1<<25), 0x0400},   // just below it: rounds up into it (subnormal path)
		{65504, 0x7bff}, {65519.99, 0x7bff}, // largest finite
		{65520, 0x7c00}, {-65520, 0xfc00}, // carry to infinity
		{255.0625, 0x5bf8}, {255.1875, 0x5bfa}, // ties at 255: even
		{254.875, 0x5bf7}, {0.1, 0x2e66}, {-3, 0xc200},
	} {
		if got := FromFloat32(c.f); got != c.want {
			t.Errorf("FromFloat32(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

const frame1080 = 3 * 1920 * 1080

// A 1080p frame's three planes each way (BENCHMARKS.md "float16 input and
// output"): go test ./internal/half -bench Slices.
func BenchmarkSlices(b *testing.B) {
	src := make([]float32, frame1080)
	for i := range src {
		src[i] = float32(i%256) + 0.3
	}
	h := make([]uint16, frame1080)
	back := make([]float32, frame1080)
	for _, hw := range []bool{true, false} {
		name := "go"
		if hw {
			if !haveF16C {
				continue
			}
			name = "f16c"
		}
		saved := haveF16C
		haveF16C = hw
		b.Run("from/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				FromFloat32s(h, src)
			}
		})
		b.Run("to/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ToFloat32s(back, h)
			}
		})
		haveF16C = saved
	}
	b.Run("copy", func(b *testing.B) { // what a float32 tensor costs
		b.ReportAllocs()
		for b.Loop() {
			copy(back, src)
		}
	})
}
