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
// The planes the fixed-point iterations read are stored interleaved (one
// struct per pixel), so the inner loops need few base pointers.
type varRefine struct {
	run               *runner
	p                 params
	w, h, pw          int
	f, d              []vrFlow  // base flow and increment
	avg, iz, ix, iy   []float32 // scratch for derivatives
	dt                []vrData  // normalised constancy terms
	co                []vrCoef  // linear system and smoothness weights
	i0, i1, ou, ov    []float32 // the current call's images and flow (w x h)
	stages, chunks    int       // wavefront stages per iteration, row chunks
	kPrep, kD1, kD2   func(lo, hi int)
	kPipe, kTri, kOut func(lo, hi int)
}

// vrFlow is a flow vector.
type vrFlow struct{ u, v float32 }

// vrData holds the normalised colour constancy terms (nx, ny, nz) and the
// x- and y-gradient constancy terms of a pixel.
type vrData struct {
	nx, ny, nz    float32
	gxx, gxy, gxz float32
	gyx, gyy, gyz float32
}

// vrCoef is a pixel's 2x2 system (a11, a12, a22; after the right-hand side
// stage a11 and a22 hold the inverse diagonal), right-hand side (b1, b2),
// and the smoothness weights of its right (wx) and down (wy) edges.
type vrCoef struct {
	a11, a12, a22, b1, b2 float32
	wx, wy, _             float32
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
	r.f, r.d = make([]vrFlow, n), make([]vrFlow, n)
	r.avg, r.iz, r.ix, r.iy = mk(), mk(), mk(), mk()
	r.dt = make([]vrData, n)
	r.co = make([]vrCoef, n)
	r.kPrep, r.kD1, r.kD2 = r.prepRows, r.deriv1Rows, r.deriv2Rows
	r.kPipe, r.kTri, r.kOut = r.pipeChunks, r.triChunks, r.outRows
}

// refine refines the flow (u, v) of i0 -> i1 (w x h, at most the size given
// to init) in place.
func (r *varRefine) refine(w, h int, i0, i1, u, v []float32) {
	r.w, r.h, r.pw = w, h, w+2
	r.i0, r.i1, r.ou, r.ov = i0, i1, u, v
	n := (w + 2) * (h + 2)
	clear(r.co[:n])
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

// rowOf is row for planes of any pixel type.
func rowOf[T any](a []T, q, w int) []T { return a[q:][:w:w] }

// prepRows warps i1 by the flow, and stores the temporal difference, the
// average image and the framed base flow; rows [lo, hi).
func (r *varRefine) prepRows(lo, hi int) {
	w, h, pw := r.w, r.h, r.pw
	xmax, ymax := float32(w-1)-1e-3, float32(h-1)-1e-3
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		u, v, z := row(r.ou, y*w, w), row(r.ov, y*w, w), row(r.i0, y*w, w)
		fb, fd := rowOf(r.f, q, w), rowOf(r.d, q, w)
		avg, iz := row(r.avg, q, w), row(r.iz, q, w)
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
			fb[x] = vrFlow{u[x], v[x]}
			fd[x] = vrFlow{}
		}
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
		dt := rowOf(r.dt, q, w)
		for x := range ix {
			dx := vrDerivSc * (aR[x] - aL[x])
			dy := vrDerivSc * (aD[x] - aU[x])
			ix[x], iy[x] = dx, dy
			s := rsqrt(dx*dx + dy*dy + vrZeta2)
			p := &dt[x]
			p.nx, p.ny, p.nz = dx*s, dy*s, z[x]*s
			p.gxz = vrDerivSc * (zR[x] - zL[x])
			p.gyz = vrDerivSc * (zD[x] - zU[x])
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
		dt := rowOf(r.dt, q, w)
		for x := range dt {
			ixx := vrDerivSc * (xR[x] - xL[x])
			ixy := vrDerivSc * (xD[x] - xU[x])
			iyy := vrDerivSc * (yD[x] - yU[x])
			s1 := rsqrt(ixx*ixx + ixy*ixy + vrZeta2)
			s2 := rsqrt(iyy*iyy + ixy*ixy + vrZeta2)
			p := &dt[x]
			p.gxx, p.gxy, p.gxz = ixx*s1, ixy*s1, p.gxz*s1
			p.gyx, p.gyy, p.gyz = ixy*s2, iyy*s2, p.gyz*s2
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
	fd, dt, co := rowOf(r.d, q, w), rowOf(r.dt, q, w), rowOf(r.co, q, w)
	for x := range co {
		e := fd[x]
		eu, ev := e.u, e.v
		m := &dt[x]
		c := &co[x]
		// colour constancy
		sx, sy, sz := m.nx, m.ny, m.nz
		ik := sz + sx*eu + sy*ev
		wd := d2 * rsqrt(ik*ik+vrEps2)
		c11 := wd*sx*sx + vrZeta2
		c12 := wd * sx * sy
		c22 := wd*sy*sy + vrZeta2
		c1 := -wd * sz * sx
		c2 := -wd * sz * sy
		// gradient constancy
		p, q2, pz := m.gxx, m.gxy, m.gxz
		s, t, tz := m.gyx, m.gyy, m.gyz
		kx := pz + p*eu + q2*ev
		ky := tz + s*eu + t*ev
		wg := g2 * rsqrt(kx*kx+ky*ky+vrEps2)
		c.a11 = c11 + wg*(p*p+s*s)
		c.a12 = c12 + wg*(p*q2+s*t)
		c.a22 = c22 + wg*(q2*q2+t*t)
		c.b1 = c1 - wg*(p*pz+s*tz)
		c.b2 = c2 - wg*(q2*pz+t*tz)
	}
	// Smoothness weights from forward differences of u+du, v+dv; the
	// last column has no right edge and the last row no down edge.
	down := pw
	if y == h-1 {
		down = 0
	}
	fb, fbR, fbD := rowOf(r.f, q, w), rowOf(r.f, q+1, w), rowOf(r.f, q+down, w)
	fdR, fdD := rowOf(r.d, q+1, w), rowOf(r.d, q+down, w)
	for x := range co {
		b, e := fb[x], fd[x]
		bR, eR := fbR[x], fdR[x]
		bD, eD := fbD[x], fdD[x]
		cu, cv := b.u+e.u, b.v+e.v
		ux := bR.u + eR.u - cu
		vx := bR.v + eR.v - cv
		uy := bD.u + eD.u - cu
		vy := bD.v + eD.v - cv
		ws := a2 * rsqrt(ux*ux+vx*vx+uy*uy+vy*vy+vrEps2)
		c := &co[x]
		c.wx, c.wy = ws, ws
	}
	// The last column's right neighbour is the frame: recompute without
	// the x difference and drop the right edge.
	x := w - 1
	b, e, bD, eD := fb[x], fd[x], fbD[x], fdD[x]
	cu, cv := b.u+e.u, b.v+e.v
	uy := bD.u + eD.u - cu
	vy := bD.v + eD.v - cv
	ws := a2 * rsqrt(uy*uy+vy*vy+vrEps2)
	co[x].wx, co[x].wy = 0, ws
	if down == 0 {
		for x := range co {
			co[x].wy = 0
		}
	}
}

// rhsRow adds the smoothness terms of the base flow to the right-hand side
// and stores the inverse diagonal in a11, a22, on row y.
func (r *varRefine) rhsRow(y int) {
	w, pw := r.w, r.pw
	q := (y+1)*pw + 1
	f, fL, fR, fU, fD := rowOf(r.f, q, w), rowOf(r.f, q-1, w), rowOf(r.f, q+1, w), rowOf(r.f, q-pw, w), rowOf(r.f, q+pw, w)
	co, coL, coU := rowOf(r.co, q, w), rowOf(r.co, q-1, w), rowOf(r.co, q-pw, w)
	for x := range co {
		c := &co[x]
		wl, wr, wu, wd := coL[x].wx, c.wx, coU[x].wy, c.wy
		b, bL, bR, bU, bD := f[x], fL[x], fR[x], fU[x], fD[x]
		uc, vc := b.u, b.v
		c.b1 += wr*(bR.u-uc) - wl*(uc-bL.u) + wd*(bD.u-uc) - wu*(uc-bU.u)
		c.b2 += wr*(bR.v-vc) - wl*(vc-bL.v) + wd*(bD.v-vc) - wu*(vc-bU.v)
		s := wl + wr + wu + wd
		c.a11 = 1 / (c.a11 + s)
		c.a22 = 1 / (c.a22 + s)
	}
}

// sorRow updates the pixels of colour c ((x+y+c) even) of row y.
func (r *varRefine) sorRow(y, c int) {
	w, pw := r.w, r.pw
	q := (y+1)*pw + 1
	d, dL, dR, dU, dD := rowOf(r.d, q, w), rowOf(r.d, q-1, w), rowOf(r.d, q+1, w), rowOf(r.d, q-pw, w), rowOf(r.d, q+pw, w)
	co, coL, coU := rowOf(r.co, q, w), rowOf(r.co, q-1, w), rowOf(r.co, q-pw, w)
	for x := (y + c) & 1; x < len(d); x += 2 {
		k := &co[x]
		wl, wr, wu, wd := coL[x].wx, k.wx, coU[x].wy, k.wy
		nL, nR, nU, nD := dL[x], dR[x], dU[x], dD[x]
		su := wl*nL.u + wr*nR.u + wu*nU.u + wd*nD.u
		sv := wl*nL.v + wr*nR.v + wu*nU.v + wd*nD.v
		p := &d[x]
		ou, ov := p.u, p.v
		nu := ou + vrOmega*((k.b1+su-k.a12*ov)*k.a11-ou)
		p.u = nu
		p.v = ov + vrOmega*((k.b2+sv-k.a12*nu)*k.a22-ov)
	}
}

// outRows writes u+du, v+dv back to the caller's flow; rows [lo, hi).
func (r *varRefine) outRows(lo, hi int) {
	w, pw := r.w, r.pw
	for y := lo; y < hi; y++ {
		q := (y+1)*pw + 1
		f, d := rowOf(r.f, q, w), rowOf(r.d, q, w)
		ou, ov := row(r.ou, y*w, w), row(r.ov, y*w, w)
		for x := range ou {
			ou[x] = f[x].u + d[x].u
			ov[x] = f[x].v + d[x].v
		}
	}
}
