package temporal

import "math"

// varRefine is the variational refinement of DIS (after Brox et al. 2004
// and Zimmer et al. 2011): it minimises, around the current flow,
//
//	delta*Psi(normalised colour constancy) + gamma*Psi(normalised gradient
//	constancy) + alpha*Psi(|grad u|^2 + |grad v|^2),  Psi(s^2) = sqrt(s^2+eps^2)
//
// with fixed-point (lagged robust weights) iterations and red-black SOR.
// All planes are stored with a one-pixel frame, so neighbours never need a
// bounds test: pitch W = w+2, pixel (x, y) at (y+1)*W + x+1.
//
// Every quantity has its own plane (structure of arrays), so the AVX2 row
// kernels (vrDataAVX2, vrSmoothAVX2, vrRHSAVX2, vrSORAVX2) load eight
// neighbouring pixels at once; they repeat the Go loops' operations, so
// the results are the same on every CPU.
type varRefine struct {
	run               *runner
	p                 params
	w, h, pw          int
	fu, fv, du, dv    []float32 // base flow and increment
	avg, iz, ix, iy   []float32 // scratch for derivatives
	dt                vrData    // normalised constancy terms
	co                vrCoef    // linear system and smoothness weights
	i0, i1, ou, ov    []float32 // the current call's images and flow (w x h)
	stages, chunks    int       // wavefront stages per iteration, row chunks
	kPrep, kD1, kD2   func(lo, hi int)
	kPipe, kTri, kOut func(lo, hi int)
}

// vrData holds the planes of the normalised colour constancy terms (nx,
// ny, nz) and of the x- and y-gradient constancy terms.
type vrData struct {
	nx, ny, nz    []float32
	gxx, gxy, gxz []float32
	gyx, gyy, gyz []float32
}

// vrCoef holds the planes of each pixel's 2x2 system (a11, a12, a22;
// after the right-hand side stage a11 and a22 hold the inverse diagonal),
// right-hand side (b1, b2), and the smoothness weights of its right (wx)
// and down (wy) edges.
type vrCoef struct {
	a11, a12, a22, b1, b2 []float32
	wx, wy                []float32
}

const (
	vrZeta2   = 0.1 * 0.1
	vrEps2    = 0.001 * 0.001
	vrOmega   = 1.6
	vrDerivSc = 0.5 // central differences: (a[x+1]-a[x-1])/2
)

func (r *varRefine) init(w, h int, run *runner, p params) {
	r.run, r.p = run, p
	n := (w + 2) * (h + 2)
	const planes = 24
	all := make([]float32, planes*n)
	mk := func() []float32 {
		a := all[:n:n]
		all = all[n:]
		return a
	}
	r.fu, r.fv, r.du, r.dv = mk(), mk(), mk(), mk()
	r.avg, r.iz, r.ix, r.iy = mk(), mk(), mk(), mk()
	d := &r.dt
	d.nx, d.ny, d.nz = mk(), mk(), mk()
	d.gxx, d.gxy, d.gxz = mk(), mk(), mk()
	d.gyx, d.gyy, d.gyz = mk(), mk(), mk()
	c := &r.co
	c.a11, c.a12, c.a22, c.b1, c.b2 = mk(), mk(), mk(), mk(), mk()
	c.wx, c.wy = mk(), mk()
	r.kPrep, r.kD1, r.kD2 = r.prepRows, r.deriv1Rows, r.deriv2Rows
	r.kPipe, r.kTri, r.kOut = r.pipeChunks, r.triChunks, r.outRows
}

// refine refines the flow (u, v) of i0 -> i1 (w x h, at most the size given
// to init) in place.
func (r *varRefine) refine(w, h int, i0, i1, u, v []float32) {
	r.w, r.h, r.pw = w, h, w+2
	r.i0, r.i1, r.ou, r.ov = i0, i1, u, v
	n := (w + 2) * (h + 2)
	c := &r.co
	for _, a := range [...][]float32{c.a11, c.a12, c.a22, c.b1, c.b2, c.wx, c.wy} {
		clear(a[:n])
	}
	r.run.Run(h, r.kPrep)
	r.frame(r.avg)
	r.frame(r.iz)
	r.run.Run(h, r.kD1)
	r.frame(r.ix)
	r.frame(r.iy)
	r.run.Run(h, r.kD2)
	// Each fixed-point iteration is one pass over the rows: stage 0 (data
	// term and smoothness weights), stage 1 (right-hand side) and the SOR
	// half-sweeps (stages 2, 3, ...) run as a wavefront, stage s on row
	// t-s at time t, so a band of rows stays in cache. Stage s of a row
	// only needs stage s-1 of the rows next to it, so this computes
	// exactly what the stage-by-stage order computes. With several chunks
	// each chunk first runs the part of the wavefront that needs no other
	// chunk (a trapezoid), then the triangles at the chunk borders run.
	r.stages = 2 + 2*r.p.sorIters
	k := min(r.run.Workers(), h/(2*r.stages))
	r.chunks = max(k, 1)
	for it := 0; it < r.p.varIters; it++ {
		r.run.Run(r.chunks, r.kPipe)
		if r.chunks > 1 {
			r.run.Run(r.chunks-1, r.kTri)
		}
	}
	r.run.Run(h, r.kOut)
	r.i0, r.i1, r.ou, r.ov = nil, nil, nil, nil
}

// frame replicates the border pixels of plane a into its one-pixel frame.
func (r *varRefine) frame(a []float32) {
	w, h, pw := r.w, r.h, r.pw
	for y := 1; y <= h; y++ {
		a[y*pw] = a[y*pw+1]
		a[y*pw+w+1] = a[y*pw+w]
	}
	copy(a[0:pw], a[pw:2*pw])
	copy(a[(h+1)*pw:(h+2)*pw], a[h*pw:(h+1)*pw])
}

// row returns the w pixels of plane a starting at index q.
func row(a []float32, q, w int) []float32 { return a[q:][:w:w] }

// cross returns the rows of n pixels of plane a at q and at its left,
// right, upper and lower neighbours (rows pw apart).
func cross(a []float32, q, pw, n int) (c, l, r, u, d []float32) {
	return row(a, q, n), row(a, q-1, n), row(a, q+1, n), row(a, q-pw, n), row(a, q+pw, n)
}

// prepRows warps i1 by the flow, and stores the temporal difference, the
// average image and the framed base flow; rows [lo, hi).
func (r *varRefine) prepRows(lo, hi int) {
	w, h, pw := r.w, r.h, r.pw
	xmax, ymax := float32(w-1)-1e-3, float32(h-1)-1e-3
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		u, v, z := row(r.ou, y*w, w), row(r.ov, y*w, w), row(r.i0, y*w, w)
		fu, fv, du, dv := row(r.fu, q, w), row(r.fv, q, w), row(r.du, q, w), row(r.dv, q, w)
		avg, iz := row(r.avg, q, w), row(r.iz, q, w)
		fy := float32(y)
		for x := range u {
			xm := min(max(float32(x)+u[x], 0), xmax)
			ym := min(max(fy+v[x], 0), ymax)
			xi, yi := int(xm), int(ym)
			ax, ay := xm-float32(xi), ym-float32(yi)
			o := yi*w + xi
			t := r.i1[o : o+w+2 : o+w+2]
			top := t[0] + float32(ax*(t[1]-t[0]))
			bot := t[w] + float32(ax*(t[w+1]-t[w]))
			iw := top + float32(ay*(bot-top))
			iz[x] = iw - z[x]
			avg[x] = 0.5 * (iw + z[x])
		}
		copy(fu, u)
		copy(fv, v)
		clear(du)
		clear(dv)
	}
}

func rsqrt(x float32) float32 { return 1 / float32(math.Sqrt(float64(x))) }

// deriv1Rows computes first derivatives of the average image and of the
// temporal difference, and the normalised colour constancy terms.
func (r *varRefine) deriv1Rows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		aL, aR, aU, aD := row(r.avg, q-1, w), row(r.avg, q+1, w), row(r.avg, q-pw, w), row(r.avg, q+pw, w)
		z, zL, zR, zU, zD := row(r.iz, q, w), row(r.iz, q-1, w), row(r.iz, q+1, w), row(r.iz, q-pw, w), row(r.iz, q+pw, w)
		ix, iy := row(r.ix, q, w), row(r.iy, q, w)
		d := &r.dt
		nx, ny, nz := row(d.nx, q, w), row(d.ny, q, w), row(d.nz, q, w)
		gxz, gyz := row(d.gxz, q, w), row(d.gyz, q, w)
		for x := range ix {
			dx := vrDerivSc * (aR[x] - aL[x])
			dy := vrDerivSc * (aD[x] - aU[x])
			ix[x], iy[x] = dx, dy
			s := rsqrt(float32(dx*dx) + float32(dy*dy) + vrZeta2)
			nx[x], ny[x], nz[x] = dx*s, dy*s, z[x]*s
			gxz[x] = vrDerivSc * (zR[x] - zL[x])
			gyz[x] = vrDerivSc * (zD[x] - zU[x])
		}
	}
}

// deriv2Rows computes second derivatives and the normalised gradient
// constancy terms.
func (r *varRefine) deriv2Rows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		xL, xR, xU, xD := row(r.ix, q-1, w), row(r.ix, q+1, w), row(r.ix, q-pw, w), row(r.ix, q+pw, w)
		yU, yD := row(r.iy, q-pw, w), row(r.iy, q+pw, w)
		d := &r.dt
		gxx, gxy, gxz := row(d.gxx, q, w), row(d.gxy, q, w), row(d.gxz, q, w)
		gyx, gyy, gyz := row(d.gyx, q, w), row(d.gyy, q, w), row(d.gyz, q, w)
		for x := range gxx {
			ixx := vrDerivSc * (xR[x] - xL[x])
			ixy := vrDerivSc * (xD[x] - xU[x])
			iyy := vrDerivSc * (yD[x] - yU[x])
			s1 := rsqrt(float32(ixx*ixx) + float32(ixy*ixy) + vrZeta2)
			s2 := rsqrt(float32(iyy*iyy) + float32(ixy*ixy) + vrZeta2)
			gxx[x], gxy[x], gxz[x] = ixx*s1, ixy*s1, gxz[x]*s1
			gyx[x], gyy[x], gyz[x] = ixy*s2, iyy*s2, gyz[x]*s2
		}
	}
}

// chunkRows returns the chunk's row range.
func (r *varRefine) chunkRows(c int) (int, int) {
	return c * r.h / r.chunks, (c + 1) * r.h / r.chunks
}

// pipeChunks runs, for chunks [lo, hi), the part of one fixed-point
// iteration's wavefront that needs no row of another chunk: stage s on the
// chunk's rows less s rows at each border shared with another chunk.
func (r *varRefine) pipeChunks(lo, hi int) {
	S := r.stages
	for c := lo; c < hi; c++ {
		a, b := r.chunkRows(c)
		top, bot := 0, 0
		if c > 0 {
			top = 1
		}
		if c < r.chunks-1 {
			bot = 1
		}
		for t := a; t < b+S-1; t++ {
			for s := 0; s < S; s++ {
				y := t - s
				if y >= a+top*s && y < b-bot*s {
					r.stageRow(s, y)
				}
			}
		}
	}
}

// triChunks completes the wavefront at the borders above chunks
// [lo+1, hi+1): stage s on the 2s rows around the border.
func (r *varRefine) triChunks(lo, hi int) {
	S := r.stages
	for c := lo + 1; c < hi+1; c++ {
		m, _ := r.chunkRows(c)
		for t := m; t < m+2*S-1; t++ {
			for s := 1; s < S; s++ {
				y := t - s
				if y >= m-s && y < m+s {
					r.stageRow(s, y)
				}
			}
		}
	}
}

// stageRow runs wavefront stage s on row y.
func (r *varRefine) stageRow(s, y int) {
	switch s {
	case 0:
		r.dataRow(y)
	case 1:
		r.rhsRow(y)
	default:
		r.sorRow(y, s&1)
	}
}

// dataRow computes the data-term coefficients for the current increment
// and the robust smoothness weights of the current flow on row y.
func (r *varRefine) dataRow(y int) {
	w, h, pw := r.w, r.h, r.pw
	d2, g2, a2 := r.p.delta/2, r.p.gamma/2, r.p.alpha/2
	q := (y+1)*pw + 1
	down := pw // the last row has no down edge
	if y == h-1 {
		down = 0
	}
	x0 := 0
	if n := w &^ 7; haveSIMD && n > 0 {
		d, c := &r.dt, &r.co
		vrDataAVX2(&vrDataArgs{
			a11: &c.a11[q], a12: &c.a12[q], a22: &c.a22[q], b1: &c.b1[q], b2: &c.b2[q],
			du: &r.du[q], dv: &r.dv[q],
			nx: &d.nx[q], ny: &d.ny[q], nz: &d.nz[q],
			gxx: &d.gxx[q], gxy: &d.gxy[q], gxz: &d.gxz[q],
			gyx: &d.gyx[q], gyy: &d.gyy[q], gyz: &d.gyz[q],
			n: n, d2: d2, g2: g2,
		})
		vrSmoothAVX2(&c.wx[q], &c.wy[q], &r.fu[q], &r.fv[q], &r.du[q], &r.dv[q], 4*down, n, a2)
		x0 = n
	}
	r.dataSpan(q, x0, w, d2, g2)
	r.smoothSpan(q, down, x0, w, a2)
	// The last column's right neighbour is the frame: recompute without
	// the x difference and drop the right edge.
	x := q + w - 1
	cu, cv := r.fu[x]+r.du[x], r.fv[x]+r.dv[x]
	uy := r.fu[x+down] + r.du[x+down] - cu
	vy := r.fv[x+down] + r.dv[x+down] - cv
	c := &r.co
	c.wx[x], c.wy[x] = 0, a2*rsqrt(float32(uy*uy)+float32(vy*vy)+vrEps2)
	if down == 0 {
		clear(c.wy[q : q+w])
	}
}

// dataSpan is dataRow's data term for pixels [x0, x1) of the row at q.
func (r *varRefine) dataSpan(q, x0, x1 int, d2, g2 float32) {
	n := x1 - x0
	q += x0
	d, c := &r.dt, &r.co
	du, dv := row(r.du, q, n), row(r.dv, q, n)
	nx, ny, nz := row(d.nx, q, n), row(d.ny, q, n), row(d.nz, q, n)
	gxx, gxy, gxz := row(d.gxx, q, n), row(d.gxy, q, n), row(d.gxz, q, n)
	gyx, gyy, gyz := row(d.gyx, q, n), row(d.gyy, q, n), row(d.gyz, q, n)
	a11, a12, a22 := row(c.a11, q, n), row(c.a12, q, n), row(c.a22, q, n)
	b1, b2 := row(c.b1, q, n), row(c.b2, q, n)
	for x := range du {
		eu, ev := du[x], dv[x]
		// colour constancy
		sx, sy, sz := nx[x], ny[x], nz[x]
		ik := sz + float32(sx*eu) + float32(sy*ev)
		wd := d2 * rsqrt(float32(ik*ik)+vrEps2)
		c11 := float32(wd*sx*sx) + vrZeta2
		c12 := float32(wd * sx * sy)
		c22 := float32(wd*sy*sy) + vrZeta2
		c1 := -wd * sz * sx
		c2 := -wd * sz * sy
		// gradient constancy
		p, q2, pz := gxx[x], gxy[x], gxz[x]
		s, t, tz := gyx[x], gyy[x], gyz[x]
		kx := pz + float32(p*eu) + float32(q2*ev)
		ky := tz + float32(s*eu) + float32(t*ev)
		wg := g2 * rsqrt(float32(kx*kx)+float32(ky*ky)+vrEps2)
		a11[x] = c11 + float32(wg*(float32(p*p)+float32(s*s)))
		a12[x] = c12 + float32(wg*(float32(p*q2)+float32(s*t)))
		a22[x] = c22 + float32(wg*(float32(q2*q2)+float32(t*t)))
		b1[x] = c1 - float32(wg*(float32(p*pz)+float32(s*tz)))
		b2[x] = c2 - float32(wg*(float32(q2*pz)+float32(t*tz)))
	}
}

// smoothSpan is dataRow's smoothness weights, from forward differences of
// u+du, v+dv, for pixels [x0, x1) of the row at q (down: the offset of the
// row below, 0 on the last row).
func (r *varRefine) smoothSpan(q, down, x0, x1 int, a2 float32) {
	n := x1 - x0
	q += x0
	fu, fv, du, dv := row(r.fu, q, n), row(r.fv, q, n), row(r.du, q, n), row(r.dv, q, n)
	fuR, fvR, duR, dvR := row(r.fu, q+1, n), row(r.fv, q+1, n), row(r.du, q+1, n), row(r.dv, q+1, n)
	fuD, fvD, duD, dvD := row(r.fu, q+down, n), row(r.fv, q+down, n), row(r.du, q+down, n), row(r.dv, q+down, n)
	wx, wy := row(r.co.wx, q, n), row(r.co.wy, q, n)
	for x := range wx {
		cu, cv := fu[x]+du[x], fv[x]+dv[x]
		ux := fuR[x] + duR[x] - cu
		vx := fvR[x] + dvR[x] - cv
		uy := fuD[x] + duD[x] - cu
		vy := fvD[x] + dvD[x] - cv
		ws := a2 * rsqrt(float32(ux*ux)+float32(vx*vx)+float32(uy*uy)+float32(vy*vy)+vrEps2)
		wx[x], wy[x] = ws, ws
	}
}

// vrDataArgs are vrDataAVX2's arguments: pointers at a row's first pixel
// in each plane, n pixels (a multiple of 8), delta/2 and gamma/2.
type vrDataArgs struct {
	a11, a12, a22, b1, b2        *float32
	du, dv                       *float32
	nx, ny, nz                   *float32
	gxx, gxy, gxz, gyx, gyy, gyz *float32
	n                            int
	d2, g2                       float32
}

// rhsRow adds the smoothness terms of the base flow to the right-hand side
// and stores the inverse diagonal in a11, a22, on row y.
func (r *varRefine) rhsRow(y int) {
	w, pw := r.w, r.pw
	q := (y+1)*pw + 1
	c := &r.co
	x0 := 0
	if n := w &^ 7; haveSIMD && n > 0 {
		vrRHSAVX2(&c.a11[q], &c.a22[q], &c.b1[q], &c.b2[q], &c.wx[q], &c.wy[q], &r.fu[q], &r.fv[q], 4*pw, n)
		x0 = n
	}
	n := w - x0
	q += x0
	f, fL, fR, fU, fD := cross(r.fu, q, pw, n)
	g, gL, gR, gU, gD := cross(r.fv, q, pw, n)
	wx, wxL, wy, wyU := row(c.wx, q, n), row(c.wx, q-1, n), row(c.wy, q, n), row(c.wy, q-pw, n)
	a11, a22, b1, b2 := row(c.a11, q, n), row(c.a22, q, n), row(c.b1, q, n), row(c.b2, q, n)
	for x := range f {
		wl, wr, wu, wd := wxL[x], wx[x], wyU[x], wy[x]
		uc, vc := f[x], g[x]
		b1[x] += float32(wr*(fR[x]-uc)) - float32(wl*(uc-fL[x])) + float32(wd*(fD[x]-uc)) - float32(wu*(uc-fU[x]))
		b2[x] += float32(wr*(gR[x]-vc)) - float32(wl*(vc-gL[x])) + float32(wd*(gD[x]-vc)) - float32(wu*(vc-gU[x]))
		s := wl + wr + wu + wd
		a11[x] = 1 / (a11[x] + s)
		a22[x] = 1 / (a22[x] + s)
	}
}

// sorRow updates the pixels of colour c ((x+y+c) even) of row y.
func (r *varRefine) sorRow(y, c int) {
	w, pw := r.w, r.pw
	q := (y+1)*pw + 1
	k := &r.co
	x0 := 0
	if n := w &^ 7; haveSIMD && n > 0 {
		vrSORAVX2(&vrSORArgs{
			du: &r.du[q], dv: &r.dv[q],
			a11: &k.a11[q], a12: &k.a12[q], a22: &k.a22[q], b1: &k.b1[q], b2: &k.b2[q],
			wx: &k.wx[q], wy: &k.wy[q],
			pitch: 4 * pw, n: n, odd: (y + c) & 1,
		})
		x0 = n
	}
	n := w - x0
	q += x0
	d, dL, dR, dU, dD := cross(r.du, q, pw, n)
	e, eL, eR, eU, eD := cross(r.dv, q, pw, n)
	wx, wxL, wy, wyU := row(k.wx, q, n), row(k.wx, q-1, n), row(k.wy, q, n), row(k.wy, q-pw, n)
	a11, a12, a22, b1, b2 := row(k.a11, q, n), row(k.a12, q, n), row(k.a22, q, n), row(k.b1, q, n), row(k.b2, q, n)
	for x := (y + c + x0) & 1; x < len(d); x += 2 {
		wl, wr, wu, wd := wxL[x], wx[x], wyU[x], wy[x]
		su := float32(wl*dL[x]) + float32(wr*dR[x]) + float32(wu*dU[x]) + float32(wd*dD[x])
		sv := float32(wl*eL[x]) + float32(wr*eR[x]) + float32(wu*eU[x]) + float32(wd*eD[x])
		ou, ov := d[x], e[x]
		nu := ou + float32(vrOmega*(float32((b1[x]+su-float32(a12[x]*ov))*a11[x])-ou))
		d[x] = nu
		e[x] = ov + float32(vrOmega*(float32((b2[x]+sv-float32(a12[x]*nu))*a22[x])-ov))
	}
}

// vrSORArgs are vrSORAVX2's arguments: pointers at a row's first pixel in
// each plane, the planes' pitch in bytes, n pixels (a multiple of 8) and
// which pixels to update (odd: those at odd x, else even x).
type vrSORArgs struct {
	du, dv                *float32
	a11, a12, a22, b1, b2 *float32
	wx, wy                *float32
	pitch, n, odd         int
}

// outRows writes u+du, v+dv back to the caller's flow; rows [lo, hi).
func (r *varRefine) outRows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		fu, fv, du, dv := row(r.fu, q, w), row(r.fv, q, w), row(r.du, q, w), row(r.dv, q, w)
		ou, ov := row(r.ou, y*w, w), row(r.ov, y*w, w)
		for x := range ou {
			ou[x] = fu[x] + du[x]
			ov[x] = fv[x] + dv[x]
		}
	}
}
