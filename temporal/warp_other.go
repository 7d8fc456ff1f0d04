//go:build !amd64

package temporal

const haveWarpSIMD = false

func warp3AVX2(dst, src *float32, n, w, h, y int, u, v *float32, x0, x1 int) int { return x0 }
