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
type varRefine struct {
	run                    *runner
	p                      params
	w, h, pw               int
	u, v, du, dv           []float32 // base flow and increment
	avg, iz, ix, iy        []float32 // scratch for derivatives
	nx, ny, nz             []float32 // colour constancy terms, normalised
	gxx, gxy, gxz          []float32 // x-gradient constancy terms, normalised
	gyx, gyy, gyz          []float32 // y-gradient constancy terms, normalised
	a11, a12, a22, b1, b2  []float32
	wx, wy                 []float32 // smoothness weight of the right / down edge
	i0, i1, ou, ov         []float32 // the current call's images and flow (w x h)
	color                  int
	kPrep, kD1, kD2, kData func(lo, hi int)
	kRHS, kSOR, kOut       func(lo, hi int)
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
	mk := func() []float32 { return make([]float32, n) }
	r.u, r.v, r.du, r.dv = mk(), mk(), mk(), mk()
	r.avg, r.iz, r.ix, r.iy = mk(), mk(), mk(), mk()
	r.nx, r.ny, r.nz = mk(), mk(), mk()
	r.gxx, r.gxy, r.gxz = mk(), mk(), mk()
	r.gyx, r.gyy, r.gyz = mk(), mk(), mk()
	r.a11, r.a12, r.a22, r.b1, r.b2 = mk(), mk(), mk(), mk(), mk()
	r.wx, r.wy = mk(), mk()
	r.kPrep, r.kD1, r.kD2, r.kData = r.prepRows, r.deriv1Rows, r.deriv2Rows, r.dataRows
	r.kRHS, r.kSOR, r.kOut = r.rhsRows, r.sorRows, r.outRows
}

// refine refines the flow (u, v) of i0 -> i1 (w x h, at most the size given
// to init) in place.
func (r *varRefine) refine(w, h int, i0, i1, u, v []float32) {
	r.w, r.h, r.pw = w, h, w+2
	r.i0, r.i1, r.ou, r.ov = i0, i1, u, v
	n := (w + 2) * (h + 2)
	clear(r.wx[:n])
	clear(r.wy[:n])
	r.run.run(h, r.kPrep)
	r.frame(r.avg)
	r.frame(r.iz)
	r.run.run(h, r.kD1)
	r.frame(r.ix)
	r.frame(r.iy)
	r.run.run(h, r.kD2)
	for it := 0; it < r.p.varIters; it++ {
		r.run.run(h, r.kData)
		r.run.run(h, r.kRHS)
		for s := 0; s < r.p.sorIters; s++ {
			r.color = 0
			r.run.run(h, r.kSOR)
			r.color = 1
			r.run.run(h, r.kSOR)
		}
	}
	r.run.run(h, r.kOut)
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

// prepRows warps i1 by the flow, and stores the temporal difference, the
// average image and the framed base flow; rows [lo, hi).
func (r *varRefine) prepRows(lo, hi int) {
	w, h, pw := r.w, r.h, r.pw
	xmax, ymax := float32(w-1)-1e-3, float32(h-1)-1e-3
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		u := r.ou[y*w : y*w+w : y*w+w]
		v := r.ov[y*w : y*w+w : y*w+w]
		z := r.i0[y*w : y*w+w : y*w+w]
		fu, fv := r.u[q:q+w:q+w], r.v[q:q+w:q+w]
		du, dv := r.du[q:q+w:q+w], r.dv[q:q+w:q+w]
		avg, iz := r.avg[q:q+w:q+w], r.iz[q:q+w:q+w]
		fy := float32(y)
		for x := range u {
			xm := min(max(float32(x)+u[x], 0), xmax)
			ym := min(max(fy+v[x], 0), ymax)
			xi, yi := int(xm), int(ym)
			ax, ay := xm-float32(xi), ym-float32(yi)
			o := yi*w + xi
			t := r.i1[o : o+w+2 : o+w+2]
			top := t[0] + ax*(t[1]-t[0])
			bot := t[w] + ax*(t[w+1]-t[w])
			iw := top + ay*(bot-top)
			iz[x] = iw - z[x]
			avg[x] = 0.5 * (iw + z[x])
			fu[x], fv[x] = u[x], v[x]
			du[x], dv[x] = 0, 0
		}
	}
}

// deriv1Rows computes first derivatives of the average image and of the
// temporal difference, and the normalised colour constancy terms.
func (r *varRefine) deriv1Rows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		a := r.avg[q-pw : q+pw+w : q+pw+w]
		z := r.iz[q-pw : q+pw+w : q+pw+w]
		ix, iy := r.ix[q:q+w:q+w], r.iy[q:q+w:q+w]
		nx, ny, nz := r.nx[q:q+w:q+w], r.ny[q:q+w:q+w], r.nz[q:q+w:q+w]
		gxz, gyz := r.gxz[q:q+w:q+w], r.gyz[q:q+w:q+w]
		for x := range ix {
			c := pw + x // centre in a, z
			dx := vrDerivSc * (a[c+1] - a[c-1])
			dy := vrDerivSc * (a[c+pw] - a[c-pw])
			ix[x], iy[x] = dx, dy
			s := float32(1 / math.Sqrt(float64(dx*dx+dy*dy+vrZeta2)))
			nx[x], ny[x], nz[x] = dx*s, dy*s, z[c]*s
			gxz[x] = vrDerivSc * (z[c+1] - z[c-1])
			gyz[x] = vrDerivSc * (z[c+pw] - z[c-pw])
		}
	}
}

// deriv2Rows computes second derivatives and the normalised gradient
// constancy terms.
func (r *varRefine) deriv2Rows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		ix := r.ix[q-pw : q+pw+w : q+pw+w]
		iy := r.iy[q-pw : q+pw+w : q+pw+w]
		gxx, gxy, gxz := r.gxx[q:q+w:q+w], r.gxy[q:q+w:q+w], r.gxz[q:q+w:q+w]
		gyx, gyy, gyz := r.gyx[q:q+w:q+w], r.gyy[q:q+w:q+w], r.gyz[q:q+w:q+w]
		for x := range gxx {
			c := pw + x
			ixx := vrDerivSc * (ix[c+1] - ix[c-1])
			ixy := vrDerivSc * (ix[c+pw] - ix[c-pw])
			iyy := vrDerivSc * (iy[c+pw] - iy[c-pw])
			s1 := float32(1 / math.Sqrt(float64(ixx*ixx+ixy*ixy+vrZeta2)))
			s2 := float32(1 / math.Sqrt(float64(iyy*iyy+ixy*ixy+vrZeta2)))
			gxx[x], gxy[x], gxz[x] = ixx*s1, ixy*s1, gxz[x]*s1
			gyx[x], gyy[x], gyz[x] = ixy*s2, iyy*s2, gyz[x]*s2
		}
	}
}

// dataRows computes the data-term coefficients for the current increment
// and the robust smoothness weights of the current flow; rows [lo, hi).
func (r *varRefine) dataRows(lo, hi int) {
	w, h, pw := r.w, r.h, r.pw
	d2, g2, a2 := r.p.delta/2, r.p.gamma/2, r.p.alpha/2
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		du, dv := r.du[q:q+w:q+w], r.dv[q:q+w:q+w]
		nx, ny, nz := r.nx[q:q+w:q+w], r.ny[q:q+w:q+w], r.nz[q:q+w:q+w]
		gxx, gxy, gxz := r.gxx[q:q+w:q+w], r.gxy[q:q+w:q+w], r.gxz[q:q+w:q+w]
		gyx, gyy, gyz := r.gyx[q:q+w:q+w], r.gyy[q:q+w:q+w], r.gyz[q:q+w:q+w]
		a11, a12, a22 := r.a11[q:q+w:q+w], r.a12[q:q+w:q+w], r.a22[q:q+w:q+w]
		b1, b2 := r.b1[q:q+w:q+w], r.b2[q:q+w:q+w]
		for x := range du {
			eu, ev := du[x], dv[x]
			// colour constancy
			ik := nz[x] + nx[x]*eu + ny[x]*ev
			wd := d2 / float32(math.Sqrt(float64(ik*ik+vrEps2)))
			sx, sy := nx[x], ny[x]
			c11 := wd*sx*sx + vrZeta2
			c12 := wd * sx * sy
			c22 := wd*sy*sy + vrZeta2
			c1 := -wd * nz[x] * sx
			c2 := -wd * nz[x] * sy
			// gradient constancy
			kx := gxz[x] + gxx[x]*eu + gxy[x]*ev
			ky := gyz[x] + gyx[x]*eu + gyy[x]*ev
			wg := g2 / float32(math.Sqrt(float64(kx*kx+ky*ky+vrEps2)))
			p, q2, s, t := gxx[x], gxy[x], gyx[x], gyy[x]
			c11 += wg * (p*p + s*s)
			c12 += wg * (p*q2 + s*t)
			c22 += wg * (q2*q2 + t*t)
			c1 -= wg * (p*gxz[x] + s*gyz[x])
			c2 -= wg * (q2*gxz[x] + t*gyz[x])
			a11[x], a12[x], a22[x], b1[x], b2[x] = c11, c12, c22, c1, c2
		}
		// smoothness weights from forward differences of u+du, v+dv
		u := r.u[q : q+pw+w : q+pw+w]
		v := r.v[q : q+pw+w : q+pw+w]
		eu := r.du[q : q+pw+w : q+pw+w]
		ev := r.dv[q : q+pw+w : q+pw+w]
		wx, wy := r.wx[q:q+w:q+w], r.wy[q:q+w:q+w]
		down := pw
		if y == h-1 {
			down = 0
		}
		for x := range wx {
			right := 1
			if x == w-1 {
				right = 0
			}
			cu, cv := u[x]+eu[x], v[x]+ev[x]
			ux := u[x+right] + eu[x+right] - cu
			vx := v[x+right] + ev[x+right] - cv
			uy := u[x+down] + eu[x+down] - cu
			vy := v[x+down] + ev[x+down] - cv
			ws := a2 / float32(math.Sqrt(float64(ux*ux+vx*vx+uy*uy+vy*vy+vrEps2)))
			wx[x] = ws * float32(right)
			if down != 0 {
				wy[x] = ws
			}
		}
	}
}

// rhsRows adds the smoothness terms of the base flow to the right-hand side
// and stores the inverse diagonal in a11, a22; rows [lo, hi).
func (r *varRefine) rhsRows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		u := r.u[q-pw : q+pw+w : q+pw+w]
		v := r.v[q-pw : q+pw+w : q+pw+w]
		wx := r.wx[q-pw : q+pw+w : q+pw+w]
		wy := r.wy[q-pw : q+pw+w : q+pw+w]
		a11, a22 := r.a11[q:q+w:q+w], r.a22[q:q+w:q+w]
		b1, b2 := r.b1[q:q+w:q+w], r.b2[q:q+w:q+w]
		for x := range a11 {
			c := pw + x
			wl, wr, wu, wd := wx[c-1], wx[c], wy[c-pw], wy[c]
			uc, vc := u[c], v[c]
			b1[x] += wr*(u[c+1]-uc) - wl*(uc-u[c-1]) + wd*(u[c+pw]-uc) - wu*(uc-u[c-pw])
			b2[x] += wr*(v[c+1]-vc) - wl*(vc-v[c-1]) + wd*(v[c+pw]-vc) - wu*(vc-v[c-pw])
			s := wl + wr + wu + wd
			a11[x] = 1 / (a11[x] + s)
			a22[x] = 1 / (a22[x] + s)
		}
	}
}

// sorRows runs one red-black SOR half-sweep (colour r.color) on rows
// [lo, hi).
func (r *varRefine) sorRows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		du := r.du[q-pw : q+pw+w : q+pw+w]
		dv := r.dv[q-pw : q+pw+w : q+pw+w]
		wx := r.wx[q-pw : q+pw+w : q+pw+w]
		wy := r.wy[q-pw : q+pw+w : q+pw+w]
		i11, a12, i22 := r.a11[q:q+w:q+w], r.a12[q:q+w:q+w], r.a22[q:q+w:q+w]
		b1, b2 := r.b1[q:q+w:q+w], r.b2[q:q+w:q+w]
		for x := (y + r.color) & 1; x < w; x += 2 {
			c := pw + x
			wl, wr, wu, wd := wx[c-1], wx[c], wy[c-pw], wy[c]
			su := wl*du[c-1] + wr*du[c+1] + wu*du[c-pw] + wd*du[c+pw]
			sv := wl*dv[c-1] + wr*dv[c+1] + wu*dv[c-pw] + wd*dv[c+pw]
			ou := du[c]
			nu := ou + vrOmega*((b1[x]+su-a12[x]*dv[c])*i11[x]-ou)
			du[c] = nu
			ov := dv[c]
			dv[c] = ov + vrOmega*((b2[x]+sv-a12[x]*nu)*i22[x]-ov)
		}
	}
}

// outRows writes u+du, v+dv back to the caller's flow; rows [lo, hi).
func (r *varRefine) outRows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		u, v := r.u[q:q+w:q+w], r.v[q:q+w:q+w]
		du, dv := r.du[q:q+w:q+w], r.dv[q:q+w:q+w]
		ou, ov := r.ou[y*w:y*w+w:y*w+w], r.ov[y*w:y*w+w:y*w+w]
		for x := range ou {
			ou[x] = u[x] + du[x]
			ov[x] = v[x] + dv[x]
		}
	}
}
