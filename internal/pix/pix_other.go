//go:build !amd64

package pix

var haveSIMD = false // no SIMD kernels here; a var so tests can set it

func widenAVX2(dst *float32, src *uint8, n int)    {}
func quantizeAVX2(dst *uint8, src *float32, n int) {}
