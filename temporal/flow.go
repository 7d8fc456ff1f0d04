package temporal

import (
	"fmt"
	"math"
	"strings"
)

// Preset selects the speed/accuracy trade-off of the flow estimator. The
// zero value is PresetMedium.
type Preset int

const (
	// PresetMedium is the accurate preset: search down to half resolution,
	// 8x8 patches every 3 pixels, 25 Gauss-Newton iterations, variational
	// refinement on every level.
	PresetMedium Preset = iota
	// PresetFast searches down to quarter resolution with 8x8 patches every
	// 4 pixels and 16 iterations (about 4x cheaper than medium).
	PresetFast
)

// ParsePreset parses "fast" or "medium" (case-insensitive).
func ParsePreset(s string) (Preset, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "medium":
		return PresetMedium, nil
	case "fast":
		return PresetFast, nil
	}
	return 0, fmt.Errorf("temporal: unknown flow preset %q (want fast or medium)", s)
}

func (p Preset) String() string {
	switch p {
	case PresetMedium:
		return "medium"
	case PresetFast:
		return "fast"
	}
	return fmt.Sprintf("Preset(%d)", int(p))
}

// params are the DIS parameters of a preset.
type params struct {
	finest   int // finest pyramid scale searched (0 = full resolution)
	stride   int // distance between patch origins
	gdIters  int // Gauss-Newton iterations per patch (split over two passes)
	varIters int // variational refinement fixed-point iterations (0 = none)
	sorIters int // SOR sweeps per fixed-point iteration
	alpha    float32
	delta    float32
	gamma    float32
}

func (p Preset) params() params {
	q := params{finest: 1, stride: 3, gdIters: 25, varIters: 5, sorIters: 5, alpha: 20, delta: 5, gamma: 10}
	if p == PresetFast {
		q.finest, q.stride, q.gdIters = 2, 4, 16
	}
	return q
}

const border = 16 // replicated border around the search image (pixels)

// level is one pyramid scale.
type level struct {
	w, h   int
	i0, i1 []float32 // images (scale 0: the caller's slices during Compute)
	ix, iy []float32 // Sobel gradient of i0, in grey levels per pixel
	i1x    []float32 // i1 with a replicated border of `border` pixels
	u, v   []float32 // flow at this scale, in this scale's pixels
	ws, hs int       // patch grid size
}

// Estimator computes dense optical flow (DIS: Dense Inverse Search,
// Kroeger et al. 2016) between two grey frames of a fixed size. It owns all
// its buffers (allocated once by NewEstimator), so Compute allocates nothing.
// An Estimator is not safe for concurrent use; use one per goroutine.
type Estimator struct {
	w, h     int
	p        params
	run      runner
	lv       []level
	coarsest int

	// patch grid buffers, sized for the finest searched level
	sx, sy                  []float32 // sparse flow
	sd                      []float32 // SSD at (sx, sy) when known, else -1
	blur0, blur1            []float32 // blur scratch
	csum                    []float32 // densification weights (finest level size)
	h11, h12, h22, gsx, gsy []float32 // inverse Hessian, gradient sums

	vr varRefine

	// state of the running Compute, read by the kernels
	cur      *level
	coarse   *level
	nStripes int
	final    struct {
		u, v []float32
	}

	kDown, kGrad, kPad, kTensor, kSearch, kDensify, kUp, kFinal, kZero func(lo, hi int)
}

// NewEstimator returns an estimator for w x h frames (w, h >= 16) with
// preset p, splitting work over workers goroutines (0 = GOMAXPROCS).
func NewEstimator(w, h int, p Preset, workers int) *Estimator {
	if w < 16 || h < 16 {
		panic(fmt.Sprintf("temporal: frame %dx%d too small for optical flow (min 16x16)", w, h))
	}
	e := &Estimator{w: w, h: h, p: p.params(), run: newRunner(workers)}
	c := int(math.Log2(float64(max(w, h))/(4*ps)) + 0.5)
	c = min(c, int(math.Log2(float64(min(w, h))/float64(ps))))
	if c < 0 {
		c = 0
	}
	e.p.finest = min(e.p.finest, c)
	e.coarsest = c
	e.lv = make([]level, c+1)
	lw, lh := w, h
	for s := 0; s <= c; s++ {
		l := &e.lv[s]
		l.w, l.h = lw, lh
		n := lw * lh
		if s > 0 {
			l.i0 = make([]float32, n)
			l.i1 = make([]float32, n)
		}
		if s >= e.p.finest {
			l.ix = make([]float32, n)
			l.iy = make([]float32, n)
			l.i1x = make([]float32, (lw+2*border)*(lh+2*border))
			l.u = make([]float32, n)
			l.v = make([]float32, n)
			l.ws = 1 + (lw-ps)/e.p.stride
			l.hs = 1 + (lh-ps)/e.p.stride
		}
		lw, lh = lw/2, lh/2
	}
	f := &e.lv[e.p.finest]
	ng := f.ws * f.hs
	e.sx, e.sy = make([]float32, ng), make([]float32, ng)
	e.sd = make([]float32, ng)
	e.csum = make([]float32, f.w*f.h)
	e.h11, e.h12, e.h22 = make([]float32, ng), make([]float32, ng), make([]float32, ng)
	e.gsx, e.gsy = make([]float32, ng), make([]float32, ng)
	e.vr.init(f.w, f.h, &e.run, e.p)

	e.kDown = e.downRows
	e.kGrad = e.gradRows
	e.kPad = e.padRows
	e.kTensor = e.tensorRows
	e.kSearch = e.searchStripes
	e.kDensify = e.densifyRows
	e.kUp = e.upRows
	e.kFinal = e.finalRows
	e.kZero = e.zeroRows
	return e
}

// Close stops the estimator's worker goroutines (started by the first
// Compute with more than one worker). It is idempotent; a later Compute
// starts them again.
func (e *Estimator) Close() { e.run.Close() }

// Size returns the frame size the estimator was made for.
func (e *Estimator) Size() (w, h int) { return e.w, e.h }

// Compute estimates the flow from frame i0 to frame i1: for each pixel x of
// i0, i0(x) ~ i1(x + (u[x], v[x])), u to the right and v down, in pixels.
// i0 and i1 are grey images of the estimator's size, row-major, values in
// 0..255 (see Gray); u and v (len w*h) are overwritten. Compute only reads
// i0 and i1 and keeps no reference to any argument after it returns.
func (e *Estimator) Compute(i0, i1, u, v []float32) {
	n := e.w * e.h
	if len(i0) < n || len(i1) < n || len(u) < n || len(v) < n {
		panic("temporal: Estimator.Compute: buffer shorter than w*h")
	}
	e.lv[0].i0, e.lv[0].i1 = i0[:n:n], i1[:n:n]
	if e.p.finest == 0 {
		e.lv[0].u, e.lv[0].v = u[:n:n], v[:n:n]
	}
	for s := 1; s <= e.coarsest; s++ {
		e.cur, e.coarse = &e.lv[s-1], &e.lv[s]
		e.run.Run(e.coarse.h, e.kDown)
	}
	for s := e.coarsest; s >= e.p.finest; s-- {
		l := &e.lv[s]
		e.cur = l
		if s == e.coarsest {
			e.run.Run(l.h, e.kZero)
		} else {
			e.coarse = &e.lv[s+1]
			e.run.Run(l.h, e.kUp)
		}
		e.run.Run(l.h, e.kGrad)
		e.run.Run(l.h+2*border, e.kPad)
		e.run.Run(l.hs, e.kTensor)
		e.nStripes = min(8, l.hs)
		e.run.Run(e.nStripes, e.kSearch)
		e.run.Run(l.h, e.kDensify)
		if e.p.varIters > 0 {
			e.vr.refine(l.w, l.h, l.i0, l.i1, l.u, l.v)
		}
	}
	if e.p.finest > 0 {
		e.cur = &e.lv[e.p.finest]
		e.final.u, e.final.v = u[:n:n], v[:n:n]
		e.run.Run(e.h, e.kFinal)
	}
	e.lv[0].i0, e.lv[0].i1 = nil, nil
	if e.p.finest == 0 {
		e.lv[0].u, e.lv[0].v = nil, nil
	}
	e.final.u, e.final.v = nil, nil
}

// downRows builds rows [lo, hi) of e.coarse from e.cur by 2x2 averaging.
func (e *Estimator) downRows(lo, hi int) {
	f, c := e.cur, e.coarse
	fw, cw := f.w, c.w
	for y := lo; y < hi; y++ {
		for k := 0; k < 2; k++ {
			src, dst := f.i0, c.i0
			if k == 1 {
				src, dst = f.i1, c.i1
			}
			r0 := src[2*y*fw : 2*y*fw+2*cw : 2*y*fw+2*cw]
			r1 := src[(2*y+1)*fw : (2*y+1)*fw+2*cw : (2*y+1)*fw+2*cw]
			d := dst[y*cw : y*cw+cw : y*cw+cw]
			for x := range d {
				d[x] = 0.25 * (r0[2*x] + r0[2*x+1] + r1[2*x] + r1[2*x+1])
			}
		}
	}
}

func (e *Estimator) zeroRows(lo, hi int) {
	l := e.cur
	clear(l.u[lo*l.w : hi*l.w])
	clear(l.v[lo*l.w : hi*l.w])
}

// gradRows computes the Sobel gradient (divided by 8: grey levels per pixel)
// of cur.i0, rows [lo, hi), replicating the border.
func (e *Estimator) gradRows(lo, hi int) {
	l := e.cur
	sobel(l.i0, l.ix, l.iy, l.w, l.h, lo, hi)
}

func sobel(src, gx, gy []float32, w, h, lo, hi int) {
	for y := lo; y < hi; y++ {
		ym, yp := max(y-1, 0), min(y+1, h-1)
		a := src[ym*w : ym*w+w : ym*w+w]
		b := src[y*w : y*w+w : y*w+w]
		c := src[yp*w : yp*w+w : yp*w+w]
		ox := gx[y*w : y*w+w : y*w+w]
		oy := gy[y*w : y*w+w : y*w+w]
		sob1 := func(x, xm, xp int) {
			ox[x] = 0.125 * ((a[xp] - a[xm]) + 2*(b[xp]-b[xm]) + (c[xp] - c[xm]))
			oy[x] = 0.125 * ((c[xm] - a[xm]) + 2*(c[x]-a[x]) + (c[xp] - a[xp]))
		}
		sob1(0, 0, 1)
		for x := 1; x < w-1; x++ {
			ox[x] = 0.125 * ((a[x+1] - a[x-1]) + 2*(b[x+1]-b[x-1]) + (c[x+1] - c[x-1]))
			oy[x] = 0.125 * ((c[x-1] - a[x-1]) + 2*(c[x]-a[x]) + (c[x+1] - a[x+1]))
		}
		sob1(w-1, w-2, w-1)
	}
}

// padRows fills rows [lo, hi) of cur.i1x (padded coordinates).
func (e *Estimator) padRows(lo, hi int) {
	l := e.cur
	w, h := l.w, l.h
	pw := w + 2*border
	for py := lo; py < hi; py++ {
		y := min(max(py-border, 0), h-1)
		src := l.i1[y*w : y*w+w : y*w+w]
		d := l.i1x[py*pw : py*pw+pw : py*pw+pw]
		left, right := src[0], src[w-1]
		for x := 0; x < border; x++ {
			d[x] = left
			d[border+w+x] = right
		}
		copy(d[border:border+w], src)
	}
}

// tensorRows precomputes, for patch rows [lo, hi), the inverse of the
// mean-normalised Gauss-Newton Hessian and the gradient sums of each patch.
func (e *Estimator) tensorRows(lo, hi int) {
	l := e.cur
	st, w := e.p.stride, l.w
	n := float32(ps * ps)
	ridge := 0.01 * n // regularises flat patches (gradient ~0.1 grey level/px)
	for is := lo; is < hi; is++ {
		for js := 0; js < l.ws; js++ {
			var sxx, syy, sxy, sx, sy float32
			for r := 0; r < ps; r++ {
				o := (is*st+r)*w + js*st
				gx := l.ix[o : o+ps : o+ps]
				gy := l.iy[o : o+ps : o+ps]
				for j, a := range gx {
					b := gy[j]
					sxx += a * a
					syy += b * b
					sxy += a * b
					sx += a
					sy += b
				}
			}
			sxx += ridge - sx*sx/n
			syy += ridge - sy*sy/n
			sxy -= sx * sy / n
			det := sxx*syy - sxy*sxy
			k := is*l.ws + js
			e.h11[k] = syy / det
			e.h12[k] = -sxy / det
			e.h22[k] = sxx / det
			e.gsx[k] = sx
			e.gsy[k] = sy
		}
	}
}

// ps is the patch side (both presets use 8x8 patches, like OpenCV's DIS).
const ps = 8

// patchPos returns the origin (index in i1x) and bilinear fractions of the
// patch at (py, px) displaced by (fu, fv), clamped to the padded image.
func (l *level) patchPos(py, px int, fu, fv float32) (o int, fx, fy float32) {
	yf := float32(py+border) + fv
	xf := float32(px+border) + fu
	yf = min(max(yf, float32(border-ps+1)), float32(border+l.h-1))
	xf = min(max(xf, float32(border-ps+1)), float32(border+l.w-1))
	iy, ix := int(yf), int(xf)
	return iy*(l.w+2*border) + ix, xf - float32(ix), yf - float32(iy)
}

// ssd returns the mean-normalised SSD between the i0 patch at (py, px) and
// the i1 patch displaced by (fu, fv).
func (e *Estimator) ssd(l *level, py, px int, fu, fv float32) float32 {
	o, fx, fy := l.patchPos(py, px, fu, fv)
	w00, w01 := (1-fy)*(1-fx), (1-fy)*fx
	w10, w11 := fy*(1-fx), fy*fx
	pw := l.w + 2*border
	q := py*l.w + px
	var sd, sdd float32
	for r := 0; r < ps; r++ {
		a := (*[ps + 1]float32)(l.i1x[o : o+ps+1])
		b := (*[ps + 1]float32)(l.i1x[o+pw : o+pw+ps+1])
		z := (*[ps]float32)(l.i0[q : q+ps])
		for j := 0; j < ps; j += 2 {
			d := w00*a[j] + w01*a[j+1] + w10*b[j] + w11*b[j+1] - z[j]
			d1 := w00*a[j+1] + w01*a[j+2] + w10*b[j+1] + w11*b[j+2] - z[j+1]
			sd += d
			sdd += d * d
			sd += d1
			sdd += d1 * d1
		}
		o += pw
		q += l.w
	}
	return sdd - sd*sd*(1.0/(ps*ps))
}

// step evaluates the patch at displacement (fu, fv): it returns the
// mean-normalised SSD and the gradient-weighted residual sums (bx, by).
func (e *Estimator) step(l *level, py, px int, fu, fv, gsx, gsy float32) (ssd, bx, by float32) {
	o, fx, fy := l.patchPos(py, px, fu, fv)
	w00, w01 := (1-fy)*(1-fx), (1-fy)*fx
	w10, w11 := fy*(1-fx), fy*fx
	pw := l.w + 2*border
	q := py*l.w + px
	var sd, sdd, sgx, sgy float32
	for r := 0; r < ps; r++ {
		a := (*[ps + 1]float32)(l.i1x[o : o+ps+1])
		b := (*[ps + 1]float32)(l.i1x[o+pw : o+pw+ps+1])
		z := (*[ps]float32)(l.i0[q : q+ps])
		gx := (*[ps]float32)(l.ix[q : q+ps])
		gy := (*[ps]float32)(l.iy[q : q+ps])
		for j := 0; j < ps; j += 2 {
			d := w00*a[j] + w01*a[j+1] + w10*b[j] + w11*b[j+1] - z[j]
			d1 := w00*a[j+1] + w01*a[j+2] + w10*b[j+1] + w11*b[j+2] - z[j+1]
			sd += d
			sdd += d * d
			sgx += d * gx[j]
			sgy += d * gy[j]
			sd += d1
			sdd += d1 * d1
			sgx += d1 * gx[j+1]
			sgy += d1 * gy[j+1]
		}
		o += pw
		q += l.w
	}
	const n = ps * ps
	return sdd - sd*sd*(1.0/n), sgx - sd*gsx*(1.0/n), sgy - sd*gsy*(1.0/n)
}

// searchStripes runs the inverse search on stripes [lo, hi) of patch rows.
// Each stripe is searched forward (with propagation from the left and top
// neighbours) and then backward (from the right and bottom); stripes do not
// exchange candidates, so the result does not depend on the worker count.
func (e *Estimator) searchStripes(lo, hi int) {
	l := e.cur
	st, ws, hs := e.p.stride, l.ws, l.hs
	const half = ps / 2
	inner := e.p.gdIters / 2
	const maxJump = float32(ps * ps)
	for s := lo; s < hi; s++ {
		r0, r1 := s*hs/e.nStripes, (s+1)*hs/e.nStripes
		for pass := 0; pass < 2; pass++ {
			isA, isB, dir := r0, r1, 1
			jsA, jsB := 0, ws
			if pass == 1 {
				isA, isB, dir = r1-1, r0-1, -1
				jsA, jsB = ws-1, -1
			}
			for is := isA; is != isB; is += dir {
				py := is * st
				for js := jsA; js != jsB; js += dir {
					px := js * st
					k := is*ws + js
					if pass == 0 {
						c := (py+half)*l.w + px + half
						e.sx[k], e.sy[k] = l.u[c], l.v[c]
					}
					cu, cv := e.sx[k], e.sy[k]
					best := e.sd[k] // known from the forward pass
					if pass == 0 || best < 0 {
						best = e.ssd(l, py, px, cu, cv)
					}
					if js != jsA {
						nu, nv := e.sx[k-dir], e.sy[k-dir]
						if d := e.ssd(l, py, px, nu, nv); d < best {
							best, cu, cv = d, nu, nv
						}
					}
					if is != isA {
						nu, nv := e.sx[k-dir*ws], e.sy[k-dir*ws]
						if d := e.ssd(l, py, px, nu, nv); d < best {
							best, cu, cv = d, nu, nv
						}
					}
					su, sv := cu, cv
					h11, h12, h22 := e.h11[k], e.h12[k], e.h22[k]
					gsx, gsy := e.gsx[k], e.gsy[k]
					prev := float32(math.MaxFloat32)
					pu, pv := cu, cv
					known := float32(-1) // SSD at (cu, cv) if known
					for t := 0; t < inner; t++ {
						d, bx, by := e.step(l, py, px, cu, cv, gsx, gsy)
						if d >= prev {
							cu, cv = pu, pv
							known = prev
							break
						}
						prev = d
						pu, pv = cu, cv
						cu -= h11*bx + h12*by
						cv -= h12*bx + h22*by
					}
					du, dv := cu-su, cv-sv
					if du*du+dv*dv <= maxJump {
						e.sx[k], e.sy[k], e.sd[k] = cu, cv, known
					} else {
						e.sx[k], e.sy[k], e.sd[k] = su, sv, best
					}
				}
			}
		}
	}
}

// densifyRows turns the sparse patch flow into dense flow for rows [lo, hi):
// each pixel averages the flow of the patches covering it, weighted by
// 1/max(1, |photometric error|). Pixels right of or below the last patch
// use the last patch.
func (e *Estimator) densifyRows(lo, hi int) {
	l := e.cur
	st, ws, hs := e.p.stride, l.ws, l.hs
	w := l.w
	pw := w + 2*border
	for y := lo; y < hi; y++ {
		isLo, isHi := span(y, ps, st, hs)
		z := l.i0[y*w : y*w+w : y*w+w]
		ur := l.u[y*w : y*w+w : y*w+w]
		vr := l.v[y*w : y*w+w : y*w+w]
		cr := e.csum[y*w : y*w+w : y*w+w]
		clear(ur)
		clear(vr)
		clear(cr)
		for is := isLo; is <= isHi; is++ {
			py := is * st
			r := y - py
			for js := 0; js < ws; js++ {
				k := is*ws + js
				su, sv := e.sx[k], e.sy[k]
				px := js * st
				o, fx, fy := l.patchPos(py, px, su, sv)
				o += r * pw
				w00, w01 := (1-fy)*(1-fx), (1-fy)*fx
				w10, w11 := fy*(1-fx), fy*fx
				if js < ws-1 {
					a := (*[ps + 1]float32)(l.i1x[o : o+ps+1])
					b := (*[ps + 1]float32)(l.i1x[o+pw : o+pw+ps+1])
					zz := (*[ps]float32)(z[px : px+ps])
					uu := (*[ps]float32)(ur[px : px+ps])
					vv := (*[ps]float32)(vr[px : px+ps])
					cc := (*[ps]float32)(cr[px : px+ps])
					for j := 0; j < ps; j++ {
						d := w00*a[j] + w01*a[j+1] + w10*b[j] + w11*b[j+1] - zz[j]
						c := 1 / max(d, -d, 1)
						uu[j] += c * su
						vv[j] += c * sv
						cc[j] += c
					}
					continue
				}
				n := w - px
				a0, a1 := row(l.i1x, o, n), row(l.i1x, o+1, n)
				b0, b1 := row(l.i1x, o+pw, n), row(l.i1x, o+pw+1, n)
				zz, uu, vv, cc := row(z, px, n), row(ur, px, n), row(vr, px, n), row(cr, px, n)
				for j := range zz {
					d := w00*a0[j] + w01*a1[j] + w10*b0[j] + w11*b1[j] - zz[j]
					if d < 0 {
						d = -d
					}
					c := float32(1)
					if d > 1 {
						c = 1 / d
					}
					uu[j] += c * su
					vv[j] += c * sv
					cc[j] += c
				}
			}
		}
		for x, c := range cr {
			inv := 1 / c
			ur[x] *= inv
			vr[x] *= inv
		}
	}
}

// span returns the range of patch indices (origin k*st, side ps, k < n)
// covering coordinate p; past the last patch it returns the last one.
func span(p, ps, st, n int) (int, int) {
	lo := 0
	if p-ps+1 > 0 {
		lo = (p - ps + st) / st
	}
	hi := p / st
	if hi > n-1 {
		hi = n - 1
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// upRows upsamples e.coarse's flow by 2 into e.cur, rows [lo, hi).
func (e *Estimator) upRows(lo, hi int) {
	c, f := e.coarse, e.cur
	upsample(c.u, c.v, c.w, c.h, f.u, f.v, f.w, lo, hi, 2)
}

// finalRows upsamples the finest searched level to the output, rows [lo, hi).
func (e *Estimator) finalRows(lo, hi int) {
	c := e.cur
	upsample(c.u, c.v, c.w, c.h, e.final.u, e.final.v, e.w, lo, hi, 1<<e.p.finest)
}

// upsample resizes flow (cu, cv) of cw x ch by the integer factor f into
// rows [lo, hi) of (fu, fv) of width fw (bilinear, pixel centres aligned),
// scaling the vectors by f.
func upsample(cu, cv []float32, cw, ch int, fu, fv []float32, fw, lo, hi, f int) {
	upsampleScaled(cu, cw, ch, fu, fw, lo, hi, f, float32(f))
	upsampleScaled(cv, cw, ch, fv, fw, lo, hi, f, float32(f))
}

// Gray writes the luminance (BT.601 weights) of the planar RGB image rgb
// (R, G, B planes of w*h, values 0..255) into dst (len >= w*h), in 0..255:
// the input Compute expects.
func Gray(dst, rgb []float32, w, h int) {
	n := w * h
	grayRange(dst, rgb, n, 0, n)
}

// grayRange is Gray for pixels [a, e) of planes of n pixels each.
func grayRange(dst, rgb []float32, n, a, e int) {
	r, g, b := rgb[a:e:e], rgb[n+a:n+e:n+e], rgb[2*n+a:2*n+e:2*n+e]
	d := dst[a:e:e]
	for i := range d {
		d[i] = luma(r[i], g[i], b[i])
	}
}

// luma is the BT.601 luminance of one RGB pixel.
func luma(r, g, b float32) float32 { return 0.299*r + 0.587*g + 0.114*b }

// upsampleScalar resizes c (cw x ch) by the integer factor f into rows
// [lo, hi) of dst (width fw), bilinear with pixel centres aligned.
func upsampleScalar(c []float32, cw, ch int, dst []float32, fw, lo, hi, f int) {
	upsampleScaled(c, cw, ch, dst, fw, lo, hi, f, 1)
}

// upsampleScaled is upsampleScalar with the values multiplied by sc. For an
// even f (up to 16), output pixel f*i + f/2 + k (0 <= k < f) lies at coarse
// i + (k+0.5)/f: each row is the two coarse rows blended once per column,
// then expanded with f fixed weights (upRowEven).
func upsampleScaled(c []float32, cw, ch int, dst []float32, fw, lo, hi, f int, sc float32) {
	inv := 1 / float32(f)
	off := 0.5*inv - 0.5
	var wt [16]float32 // the horizontal weights (k+0.5)/f
	for k := range min(f, len(wt)) {
		wt[k] = (float32(k) + 0.5) * inv
	}
	for y := lo; y < hi; y++ {
		cy := min(max(float32(y)*inv+off, 0), float32(ch-1))
		y0 := int(cy)
		y1 := min(y0+1, ch-1)
		ay := cy - float32(y0)
		r0, r1 := c[y0*cw:y0*cw+cw:y0*cw+cw], c[y1*cw:y1*cw+cw:y1*cw+cw]
		o := dst[y*fw : y*fw+fw : y*fw+fw]
		if f%2 == 0 && f <= len(wt) {
			upRowEven(o, r0, r1, ay, sc, f, &wt)
			continue
		}
		for x := range o { // odd or large factors: per pixel
			cx := min(max(float32(x)*inv+off, 0), float32(cw-1))
			x0 := int(cx)
			x1 := min(x0+1, cw-1)
			ax := cx - float32(x0)
			a := r0[x0] + float32(ax*(r0[x1]-r0[x0]))
			b := r1[x0] + float32(ax*(r1[x1]-r1[x0]))
			o[x] = sc * (a + float32(ay*(b-a)))
		}
	}
}

// upRowEven writes output row o of upsampleScaled for an even factor f:
// the coarse rows r0, r1 blended (ay) and scaled (sc) in chunks of up to
// 256 columns on the stack, then expanded with the weights wt; on amd64
// the blend and the 2x and 4x expansions run in AVX2 (identical results).
func upRowEven(o, r0, r1 []float32, ay, sc float32, f int, wt *[16]float32) {
	const chunk = 256
	cw, fw, h := len(r0), len(o), f/2
	var tb [chunk + 1]float32
	v := sc * (r0[0] + float32(ay*(r1[0]-r0[0])))
	for x := range min(h, fw) { // left of the first column's centre
		o[x] = v
	}
	// Interval j (between coarse columns j and j+1) covers o[f*j+h, f*j+h+f);
	// those with j <= full end before fw.
	full := (fw-h)/f - 1
	for c0 := 0; c0 < cw-1; c0 += chunk {
		c1 := min(c0+chunk+1, cw)
		t := tb[: c1-c0 : c1-c0]
		lerpRow(t, r0[c0:c1], r1[c0:c1], ay, sc)
		nj := c1 - c0 - 1
		j := 0
		if haveSIMD && (f == 2 || f == 4) {
			if g := min(nj, full-c0+1) &^ 7; g > 0 {
				if f == 2 {
					expand2AVX2(&o[f*c0+h], &t[0], g)
				} else {
					expand4AVX2(&o[f*c0+h], &t[0], g)
				}
				j = g
			}
		}
		for ; j < nj; j++ {
			x := f*(c0+j) + h
			if x >= fw {
				break
			}
			cur, d := t[j], t[j+1]-t[j]
			seg := o[x:min(x+f, fw)]
			ws := wt[:len(seg)]
			for k, wk := range ws {
				seg[k] = cur + float32(wk*d)
			}
		}
	}
	v = sc * (r0[cw-1] + float32(ay*(r1[cw-1]-r0[cw-1])))
	for x := f*(cw-1) + h; x < fw; x++ { // right of the last column's centre
		o[x] = v
	}
}

// lerpRow writes sc*(a[i] + ay*(b[i]-a[i])) into t.
func lerpRow(t, a, b []float32, ay, sc float32) {
	i := 0
	if haveSIMD && len(t) >= 8 {
		i = len(t) &^ 7
		lerpAVX2(&t[0], &a[0], &b[0], i, ay, sc)
	}
	for ; i < len(t); i++ {
		t[i] = sc * (a[i] + float32(ay*(b[i]-a[i])))
	}
}
