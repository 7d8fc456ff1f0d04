package temporal

import "golang.org/x/sys/cpu"

// haveWarpSIMD: warp3AVX2 may run (AVX2 and FMA present). Tests turn it off
// to compare the two paths.
var haveWarpSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// warp3AVX2 warps pixels [x0, x1) of row y of a three-plane image in groups
// of eight, stopping at the first group that is not entirely interior (some
// tap outside the image) or when fewer than eight pixels are left; it
// returns the first pixel it did not write. dst and u, v point at the row's
// first pixel (of dst's first plane), src at the first plane; planes are n
// floats apart. Its results equal warpSpan's up to float rounding (fused
// multiply-adds, another summation order).
//
//go:noescape
func warp3AVX2(dst, src *float32, n, w, h, y int, u, v *float32, x0, x1 int) int
