//go:build !amd64

package temporal

var haveWarpSIMD = false // no SIMD kernel here; a var so tests can set it

func warp3AVX2(dst, src *float32, n, w, h, y int, u, v *float32, x0, x1 int) int { return x0 }
