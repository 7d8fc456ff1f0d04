package half

import (
	"math"
	"testing"
)

func TestToFloat32(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125},
		{0x7bff, 65504}, {0x0400, 1.0 / 16384}, {0x0001, 1.0 / (1 << 24)}, {0x8200, -1.0 / (1 << 15)},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	} {
		if got := ToFloat32(c.h); got != c.want {
			t.Errorf("ToFloat32(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if v := ToFloat32(0x7e00); v == v {
		t.Errorf("ToFloat32(0x7e00) = %v, want NaN", v)
	}
	if v := ToFloat32(0x8000); v != 0 || !math.Signbit(float64(v)) {
		t.Errorf("ToFloat32(0x8000) = %v, want -0", v)
	}
}

// Every float16 value comes back as itself, and values between two of
// them round to the nearer (ties to the even one), past 65504 to infinity
// and below half the smallest subnormal to zero.
func TestFromFloat32(t *testing.T) {
	for h := range 1 << 16 {
		v := ToFloat32(uint16(h))
		if v != v {
			if g := FromFloat32(v); ToFloat32(g) == ToFloat32(g) {
				t.Fatalf("NaN %#04x became %#04x", h, g)
			}
			continue
		}
		if g := FromFloat32(v); g != uint16(h) {
			t.Fatalf("FromFloat32(%v) = %#04x, want %#04x", v, g, h)
		}
	}
	const sub = 1.0 / (1 << 24) // the smallest subnormal
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},               // tie between 1 and 1+2^-10: even
		{1 + 3.0/2048, 0x3c02},               // tie: up to the even one
		{1 + 1.0/2048 + 1.0/(1<<20), 0x3c01}, // past the tie
		{65519, 0x7bff},                      // below the tie with 65536
		{65520, 0x7c00},                      // the tie rounds to "even" infinity
		{1e9, 0x7c00}, {-1e9, 0xfc00},        // overflow
		{sub / 2, 0x0000},                 // tie with 0: even
		{sub * 0.51, 0x0001},              // past it
		{sub * 2.5, 0x0002},               // subnormal tie: even
		{sub * 1023.5, 0x0400},            // rounds up into the normals
		{-sub * 3, 0x8003},                // negative subnormal
		{1e-30, 0x0000}, {-1e-30, 0x8000}, // underflow keeps the sign
		{1.0 / (1 << 14), 0x0400}, // the smallest normal
		{float32(math.Inf(-1)), 0xfc00},
		{1e-5, 0x00a8}, // 168 * 2^-24 = 1.0014e-5
	} {
		if g := FromFloat32(c.f); g != c.want {
			t.Errorf("FromFloat32(%g) = %#04x, want %#04x", c.f, g, c.want)
		}
	}
}
