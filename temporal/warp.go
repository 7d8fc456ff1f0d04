package temporal

// cubicWeights returns the Catmull-Rom (Keys a = -0.5) weights of the
// samples at -1, 0, 1, 2 for a fractional position t in [0, 1). They are
// exactly (0, 1, 0, 0) at t = 0, so integer shifts are reproduced exactly.
func cubicWeights(t float32) (w0, w1, w2, w3 float32) {
	t2 := t * t
	t3 := t2 * t
	w0 = 0.5 * (-t3 + 2*t2 - t)
	w1 = 0.5 * (3*t3 - 5*t2 + 2)
	w2 = 0.5 * (-3*t3 + 4*t2 + t)
	w3 = 0.5 * (t3 - t2)
	return
}

// Warp backward-warps the planar image src (nch planes of w*h) with the
// flow (u, v) into dst: dst(x) = src(x + (u(x), v(x))), sampled with
// Catmull-Rom bicubic interpolation and the border replicated. dst must not
// overlap src. Integer flows reproduce src exactly.
func Warp(dst, src []float32, nch, w, h int, u, v []float32) {
	warpRows(dst, src, nch, w, h, u, v, 0, h)
}

// warpRows is Warp on rows [lo, hi). Three-plane images go through the
// SIMD kernel where the CPU has one, pixels with a tap outside the image
// (and rows' last few pixels) through warpSpan.
func warpRows(dst, src []float32, nch, w, h int, u, v []float32, lo, hi int) {
	n := w * h
	if len(dst) < nch*n || len(src) < nch*n || len(u) < n || len(v) < n {
		panic("temporal: warp: short buffers")
	}
	simd := haveSIMD && nch == 3 && w >= 8
	for y := lo; y < hi; y++ {
		if !simd {
			warpSpan(dst, src, nch, w, h, u, v, y, 0, w)
			continue
		}
		p := y * w
		for x := 0; x < w; {
			x = warp3AVX2(&dst[p], &src[0], n, w, h, y, &u[p], &v[p], x, w)
			e := min(x+8, w)
			warpSpan(dst, src, nch, w, h, u, v, y, x, e)
			x = e
		}
	}
}

// warpSpan is Warp on pixels [xa, xb) of row y.
func warpSpan(dst, src []float32, nch, w, h int, u, v []float32, y, xa, xb int) {
	n := w * h
	fw, fh := float32(w), float32(h)
	ur, vr := row(u, y*w, w), row(v, y*w, w)
	for x := xa; x < xb; x++ {
		sx := min(max(float32(x)+ur[x], -1), fw)
		sy := min(max(float32(y)+vr[x], -1), fh)
		ix, iy := floorInt(sx), floorInt(sy)
		wx0, wx1, wx2, wx3 := cubicWeights(sx - float32(ix))
		wy0, wy1, wy2, wy3 := cubicWeights(sy - float32(iy))
		p := y*w + x
		if ix >= 1 && ix+2 < w && iy >= 1 && iy+2 < h {
			o := (iy-1)*w + ix - 1
			for c := 0; c < nch; c++ {
				s := src[c*n : (c+1)*n : (c+1)*n]
				r0 := (*[4]float32)(s[o : o+4])
				r1 := (*[4]float32)(s[o+w : o+w+4])
				r2 := (*[4]float32)(s[o+2*w : o+2*w+4])
				r3 := (*[4]float32)(s[o+3*w : o+3*w+4])
				a := wx0*r0[0] + wx1*r0[1] + wx2*r0[2] + wx3*r0[3]
				b := wx0*r1[0] + wx1*r1[1] + wx2*r1[2] + wx3*r1[3]
				cc := wx0*r2[0] + wx1*r2[1] + wx2*r2[2] + wx3*r2[3]
				d := wx0*r3[0] + wx1*r3[1] + wx2*r3[2] + wx3*r3[3]
				dst[c*n+p] = wy0*a + wy1*b + wy2*cc + wy3*d
			}
			continue
		}
		// Border: clamp every tap.
		var xs, ys [4]int
		for k := 0; k < 4; k++ {
			xs[k] = min(max(ix-1+k, 0), w-1)
			ys[k] = min(max(iy-1+k, 0), h-1) * w
		}
		wxs := [4]float32{wx0, wx1, wx2, wx3}
		wys := [4]float32{wy0, wy1, wy2, wy3}
		for c := 0; c < nch; c++ {
			s := src[c*n : (c+1)*n : (c+1)*n]
			var acc float32
			for j := 0; j < 4; j++ {
				var r float32
				for k := 0; k < 4; k++ {
					r += wxs[k] * s[ys[j]+xs[k]]
				}
				acc += wys[j] * r
			}
			dst[c*n+p] = acc
		}
	}
}

// warpBilinearRows backward-warps rows [lo, hi) with bilinear sampling
// (border replicated); used by the warping-error metric, as in Lai et al.
func warpBilinearRows(dst, src []float32, nch, w, h int, u, v []float32, lo, hi int) {
	n := w * h
	xmax, ymax := float32(w-1), float32(h-1)
	for y := lo; y < hi; y++ {
		for x := 0; x < w; x++ {
			p := y*w + x
			sx := min(max(float32(x)+u[p], 0), xmax)
			sy := min(max(float32(y)+v[p], 0), ymax)
			x0, y0 := int(sx), int(sy)
			x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
			ax, ay := sx-float32(x0), sy-float32(y0)
			for c := 0; c < nch; c++ {
				s := src[c*n : (c+1)*n : (c+1)*n]
				a := s[y0*w+x0] + ax*(s[y0*w+x1]-s[y0*w+x0])
				b := s[y1*w+x0] + ax*(s[y1*w+x1]-s[y1*w+x0])
				dst[c*n+p] = a + ay*(b-a)
			}
		}
	}
}

func floorInt(f float32) int {
	i := int(f)
	if float32(i) > f {
		i--
	}
	return i
}

// bilinear2 samples planes a and b (w x h) at (x, y), clamped to the image.
func bilinear2(a, b []float32, w, h int, x, y float32) (float32, float32) {
	x = min(max(x, 0), float32(w-1))
	y = min(max(y, 0), float32(h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	ax, ay := x-float32(x0), y-float32(y0)
	p00, p01, p10, p11 := y0*w+x0, y0*w+x1, y1*w+x0, y1*w+x1
	ta := a[p00] + ax*(a[p01]-a[p00])
	ba := a[p10] + ax*(a[p11]-a[p10])
	tb := b[p00] + ax*(b[p01]-b[p00])
	bb := b[p10] + ax*(b[p11]-b[p10])
	return ta + ay*(ba-ta), tb + ay*(bb-tb)
}

// occluded is the forward-backward check of pixel x with backward flow (u,
// v), sx, sy = x + (u, v): the forward flow (fu, fv) at (sx, sy) does not
// bring it back (Ruder et al. 2016).
func occluded(u, v float32, fu, fv []float32, w, h int, sx, sy float32) bool {
	u2, v2 := bilinear2(fu, fv, w, h, sx, sy)
	du, dv := u+u2, v+v2
	return du*du+dv*dv > occRel*(u*u+v*v+u2*u2+v2*v2)+occAbs
}

// Occlusion and motion-boundary thresholds of Ruder et al. 2016.
const (
	occRel, occAbs = 0.01, 0.5
	mbRel, mbAbs   = 0.01, 0.002
)

// Confidence computes, for each pixel x of frame t, how far the backward
// flow (bu, bv) (t -> t-1) can be trusted, into conf (len w*h) in [0, 1]:
// 0 where the forward-backward check fails (|b + f(x+b)|^2 > 0.01(|b|^2 +
// |f(x+b)|^2) + 0.5, f the forward flow t-1 -> t), where the flow gradient
// marks a motion boundary (|grad bu|^2 + |grad bv|^2 > 0.01|b|^2 + 0.002)
// and where x + b(x) leaves the frame; elsewhere 1, softened near the
// rejected pixels (times a 5x5 box blur of the hard mask). It returns the
// fraction of pixels that failed the forward-backward check. tmp is
// scratch of len >= w*h.
func Confidence(conf, tmp, bu, bv, fu, fv []float32, w, h int) (occluded float64) {
	occ := hardMaskRows(conf, bu, bv, fu, fv, w, h, 0, h)
	softenRows(tmp, conf, w, h, 0, h, true)
	softenRows(conf, tmp, w, h, 0, h, false)
	return float64(occ) / float64(w*h)
}

// hardMaskRows writes the binary confidence of rows [lo, hi) into m and
// returns the number of pixels that failed the forward-backward check.
func hardMaskRows(m, bu, bv, fu, fv []float32, w, h, lo, hi int) int {
	occ := 0
	fw, fh := float32(w)-0.5, float32(h)-0.5
	for y := lo; y < hi; y++ {
		ym, yp := max(y-1, 0), min(y+1, h-1)
		scy := 1 / float32(max(yp-ym, 1)) // central differences: 1/2 inside
		bur, bvr, mr := row(bu, y*w, w), row(bv, y*w, w), row(m, y*w, w)
		buU, buD := row(bu, ym*w, w), row(bu, yp*w, w)
		bvU, bvD := row(bv, ym*w, w), row(bv, yp*w, w)
		fy := float32(y)
		for x := 0; x < w; x++ {
			if x == 1 && haveSIMD {
				if n := (w - 2) &^ 7; n > 0 { // interior columns: central differences
					occ += hardMaskAVX2(&hardMaskArgs{
						m: &mr[1], bu: &bur[1], bv: &bvr[1], buU: &buU[1], buD: &buD[1], bvU: &bvU[1], bvD: &bvD[1],
						fu: &fu[0], fv: &fv[0], w: w, h: h, x: 1, n: n, y: fy, scy: scy,
					})
					x += n
				}
			}
			u, v := bur[x], bvr[x]
			sx, sy := float32(x)+u, fy+v
			if sx < -0.5 || sy < -0.5 || sx > fw || sy > fh {
				mr[x] = 0
				continue
			}
			if occluded(u, v, fu, fv, w, h, sx, sy) {
				mr[x] = 0
				occ++
				continue
			}
			xm, xp := max(x-1, 0), min(x+1, w-1)
			scx := float32(0.5)
			if xp-xm != 2 {
				scx = 1 / float32(max(xp-xm, 1))
			}
			ux := (bur[xp] - bur[xm]) * scx
			vx := (bvr[xp] - bvr[xm]) * scx
			uy := (buD[x] - buU[x]) * scy
			vy := (bvD[x] - bvU[x]) * scy
			if ux*ux+uy*uy+vx*vx+vy*vy > mbRel*(u*u+v*v)+mbAbs {
				mr[x] = 0
				continue
			}
			mr[x] = 1
		}
	}
	return occ
}

// hardMaskArgs are hardMaskAVX2's arguments: the row's mask and backward
// flow, the backward flow of the rows above and below, all at pixel x; the
// whole forward flow (w x h); n pixels (a multiple of 8, x >= 1, x+n <= w-1:
// central differences); the row y and its vertical difference scale scy.
type hardMaskArgs struct {
	m, bu, bv, buU, buD, bvU, bvD *float32
	fu, fv                        *float32
	w, h, x, n                    int
	y, scy                        float32
}

// softenRows is the soft mask, in two passes: horizontal (first=true:
// dst = 5-tap box of src along x) then vertical (dst = src-mask times the
// 5-tap box along y of the horizontal pass, src being that pass). The
// second pass reads the hard mask back from dst itself before writing, so
// call it with dst = the hard mask and src = the horizontal pass.
func softenRows(dst, src []float32, w, h, lo, hi int, first bool) {
	if first {
		clamped := func(s []float32, x int) float32 {
			var acc float32
			for k := -2; k <= 2; k++ {
				acc += s[min(max(x+k, 0), w-1)]
			}
			return acc * 0.2
		}
		for y := lo; y < hi; y++ {
			s, d := row(src, y*w, w), row(dst, y*w, w)
			x := 0
			for ; x < min(2, w); x++ {
				d[x] = clamped(s, x)
			}
			if n := (w - 4) &^ 7; haveSIMD && n > 0 { // interior: no clamping
				box5AVX2(&d[2], &s[0], &s[1], &s[2], &s[3], &s[4], n, false)
				x += n
			}
			for ; x < w-2; x++ {
				d[x] = (s[x-2] + s[x-1] + s[x] + s[x+1] + s[x+2]) * 0.2
			}
			for ; x < w; x++ {
				d[x] = clamped(s, x)
			}
		}
		return
	}
	for y := lo; y < hi; y++ {
		d := row(dst, y*w, w)
		r0, r1, r2 := row(src, max(y-2, 0)*w, w), row(src, max(y-1, 0)*w, w), row(src, y*w, w)
		r3, r4 := row(src, min(y+1, h-1)*w, w), row(src, min(y+2, h-1)*w, w)
		x0 := 0
		if n := w &^ 7; haveSIMD && n > 0 { // d is 0 or 1: 0 times the sum stays 0
			box5AVX2(&d[0], &r0[0], &r1[0], &r2[0], &r3[0], &r4[0], n, true)
			x0 = n
		}
		for x := x0; x < w; x++ {
			if d[x] == 0 {
				continue
			}
			d[x] *= (r0[x] + r1[x] + r2[x] + r3[x] + r4[x]) * 0.2
		}
	}
}
