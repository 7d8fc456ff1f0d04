//go:build !amd64

package temporal

var haveSIMD = false // no SIMD kernels here; a var so tests can set it

func warp3AVX2(dst, src *float32, n, w, h, y int, u, v *float32, x0, x1 int) int { return x0 }
func lerpAVX2(dst, a, b *float32, n int, ay, sc float32)                         {}
func expand2AVX2(o, t *float32, n int)                                           {}
func expand4AVX2(o, t *float32, n int)                                           {}
func box5AVX2(dst, a, b, c, d, e *float32, n int, mul bool)                      {}
func blendAVX2(o, wp, cf, st *float32, n int, a, lam float32, grad bool)         {}
func gsAVX2(o, st, wp, cf *float32, plane, pitch, groups int, lam float32)       {}
func vrDataAVX2(a *vrDataArgs)                                                   {}
func vrSmoothAVX2(wx, wy, fu, fv, du, dv *float32, down, n int, a2 float32)      {}
func vrRHSAVX2(a11, a22, b1, b2, wx, wy, fu, fv *float32, pitch, n int)          {}
func vrSORAVX2(a *vrSORArgs)                                                     {}
func hardMaskAVX2(a *hardMaskArgs) int                                           { return 0 }
