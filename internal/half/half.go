// Package half converts between float32 and IEEE 754 binary16 (float16),
// the element type of the fp16 style networks' weights.
package half

import "math"

// ToFloat32 converts IEEE 754 binary16 bits to a float32 (exactly: every
// float16 value is a float32 value).
func ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	if exp-1 < 30 { // normal: rebias the exponent (+112)
		return math.Float32frombits(sign | (uint32(h&0x7fff)<<13 + 112<<23))
	}
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case frac == 0: // zero
		return math.Float32frombits(sign)
	}
	v := float32(frac) / (1 << 24) // subnormal: frac * 2^-24
	if sign != 0 {
		v = -v
	}
	return v
}

// FromFloat32 rounds f to the nearest IEEE 754 binary16 value (ties to
// even), as CUDA's __float2half does: past 65504 it is infinite, below
// 2^-14 subnormal.
func FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if e := (b >> 23) & 0xff; e-113 < 30 {
		// The common case, a normal float16 (2^-14 <= |f| < 2^16): drop
		// the exponent bias difference (112) and round the mantissa to 10
		// bits, ties to even; a carry past 65504 gives infinity.
		m := b & 0x7fffffff
		return uint16(b>>16)&0x8000 | uint16((m-112<<23+0xfff+((m>>13)&1))>>13)
	}
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf, NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 112 // the binary16 exponent field
	if e >= 0x1f {
		return sign | 0x7c00
	}
	// Here e <= 0: a subnormal (or zero), the value in units of 2^-24,
	// rounded to nearest, ties to even; rounding up may give the smallest
	// normal, whose bits follow on.
	shift := uint(14 - e)
	if exp == 0 || shift > 24 {
		return sign
	}
	m := mant | 0x800000
	r, rem, half := m>>shift, m&(1<<shift-1), uint32(1)<<(shift-1)
	if rem > half || (rem == half && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}
