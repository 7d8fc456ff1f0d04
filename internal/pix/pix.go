// Package pix holds the row kernels that convert between 8-bit samples and
// the float32 planes the pipeline works in (0..255). Decode and encode call
// them on every row of every frame; on amd64 with AVX2 they run 32 samples
// per step, elsewhere (and for rows' last few samples) in plain Go, with
// identical results.
package pix

// Widen writes src's samples as float32 into dst (len(dst) >= len(src)).
func Widen(dst []float32, src []uint8) {
	dst = dst[:len(src):len(src)]
	i := 0
	if haveSIMD && len(src) >= 32 {
		i = len(src) &^ 31
		widenAVX2(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = float32(src[i])
	}
}

// Quantize writes src rounded to the nearest integer (halves up) and
// clamped to 0..255 into dst (len(dst) >= len(src)); NaN becomes 0.
func Quantize(dst []uint8, src []float32) {
	dst = dst[:len(src):len(src)]
	i := 0
	if haveSIMD && len(src) >= 32 {
		i = len(src) &^ 31
		quantizeAVX2(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = Byte(src[i])
	}
}

// Byte is Quantize for one sample: v rounded (halves up) and clamped to
// 0..255; NaN becomes 0.
func Byte(v float32) uint8 {
	switch {
	case v >= 255:
		return 255
	case v > 0:
		return uint8(v + 0.5)
	default: // v <= 0 or NaN
		return 0
	}
}
