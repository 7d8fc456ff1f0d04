package temporal

import "golang.org/x/sys/cpu"

// haveSIMD: the AVX2 kernels (warp3AVX2, lerpAVX2, expand2AVX2,
// expand4AVX2, box5AVX2, blendAVX2, gsAVX2, the vr* kernels,
// hardMaskAVX2) may run. Tests turn it off to compare with the Go paths.
var haveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

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

// lerpAVX2 writes sc*(a[i] + ay*(b[i]-a[i])) for i < n (a multiple of 8),
// with the same operations as the Go loop (no fused multiply-add), so the
// results are identical.
//
//go:noescape
func lerpAVX2(dst, a, b *float32, n int, ay, sc float32)

// expand2AVX2 writes, for j < n (a multiple of 8), t[j] + 0.25*(t[j+1]-t[j])
// and t[j] + 0.75*(t[j+1]-t[j]) at o[2j] and o[2j+1] (t holds n+1 values);
// identical to the Go loop.
//
//go:noescape
func expand2AVX2(o, t *float32, n int)

// expand4AVX2 is expand2AVX2 for a factor 4: weights 1/8, 3/8, 5/8, 7/8
// at o[4j..4j+3].
//
//go:noescape
func expand4AVX2(o, t *float32, n int)

// box5AVX2 writes ((((a[i]+b[i])+c[i])+d[i])+e[i])*0.2 into dst[i], or with
// mul multiplies dst[i] by it, for i < n (a multiple of 8); identical to
// the Go loops of softenRows.
//
//go:noescape
func box5AVX2(dst, a, b, c, d, e *float32, n int, mul bool)

// blendAVX2 is blendRows' loop on n samples (a multiple of 8), with the
// same operations (identical results): k = a*cf[i]; with grad, st[i] =
// o[i] and k = 1 where lam*cf[i] > gsFrozen; o[i] += k*(wp[i]-o[i]).
//
//go:noescape
func blendAVX2(o, wp, cf, st *float32, n int, a, lam float32, grad bool)

// gsAVX2 is gsList's update of interior pixels on groups groups of eight
// from o (st, wp, cf: the same pixel's stylized, warped and confidence),
// the pixels at even offsets only; planes plane bytes apart, rows pitch
// bytes apart; identical results (the Go loop rounds each product: see
// gsList). It also loads, and discards, the odd lanes of the rows above
// and below and one sample past the last group.
//
//go:noescape
func gsAVX2(o, st, wp, cf *float32, plane, pitch, groups int, lam float32)

// vrDataAVX2 is dataSpan on a's n pixels (a multiple of 8), identical
// results.
//
//go:noescape
func vrDataAVX2(a *vrDataArgs)

// vrSmoothAVX2 is smoothSpan on n pixels (a multiple of 8), the planes'
// pointers at the first one, down the offset of the row below in bytes;
// identical results.
//
//go:noescape
func vrSmoothAVX2(wx, wy, fu, fv, du, dv *float32, down, n int, a2 float32)

// vrRHSAVX2 is rhsRow's loop on n pixels (a multiple of 8), the planes'
// pointers at the first one, rows pitch bytes apart; identical results.
//
//go:noescape
func vrRHSAVX2(a11, a22, b1, b2, wx, wy, fu, fv *float32, pitch, n int)

// vrSORAVX2 is sorRow's loop on a's n pixels (a multiple of 8), identical
// results.
//
//go:noescape
func vrSORAVX2(a *vrSORArgs)

// hardMaskAVX2 is hardMaskRows' loop on a's n interior pixels, identical
// results; it returns how many failed the forward-backward check.
//
//go:noescape
func hardMaskAVX2(a *hardMaskArgs) int
