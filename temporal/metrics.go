package temporal

import "math"

// WarpError accumulates the warping error of Lai et al. 2018 ("Learning
// blind video temporal consistency") over a video:
//
//	E_warp = mean over t of  sum_p M(p) ||O_t(p) - warp(O_{t-1})(p)||^2 / sum_p M(p)
//
// with colours in [0, 1] (the norm sums the three channels), the flow
// computed on the INPUT frames (t -> t-1, medium preset), warp bilinear (as
// in Lai et al.) and M the pixels that pass the forward-backward occlusion
// check. It owns its buffers (allocated once); Add allocates nothing.
type WarpError struct {
	w, h           int
	est            *Estimator
	g0, g1         []float32
	bu, bv, fu, fv []float32
	warped         []float32
	sum            float64
	n              int
}

// NewWarpError returns an accumulator for w x h frames, computing flow with
// workers goroutines (0 = GOMAXPROCS).
func NewWarpError(w, h, workers int) *WarpError {
	n := w * h
	mk := func(k int) []float32 { return make([]float32, k) }
	return &WarpError{
		w: w, h: h, est: NewEstimator(w, h, PresetMedium, workers),
		g0: mk(n), g1: mk(n), bu: mk(n), bv: mk(n), fu: mk(n), fv: mk(n), warped: mk(3 * n),
	}
}

// Add adds the pair of consecutive frames (t-1, t): prevIn, curIn are the
// input frames and prevOut, curOut the output frames, all planar RGB
// 0..255 of the accumulator's size (only read). It returns this pair's
// error. A pair whose mask is empty adds nothing and returns NaN.
func (m *WarpError) Add(prevIn, curIn, prevOut, curOut []float32) float64 {
	w, h := m.w, m.h
	n := w * h
	Gray(m.g0, prevIn, w, h)
	Gray(m.g1, curIn, w, h)
	m.est.Compute(m.g1, m.g0, m.bu, m.bv)
	m.est.Compute(m.g0, m.g1, m.fu, m.fv)
	warpBilinearRows(m.warped, prevOut, 3, w, h, m.bu, m.bv, 0, h)
	var s float64
	cnt := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := y*w + x
			u, v := m.bu[p], m.bv[p]
			sx, sy := float32(x)+u, float32(y)+v
			if sx < 0 || sy < 0 || sx > float32(w-1) || sy > float32(h-1) {
				continue
			}
			if occluded(u, v, m.fu, m.fv, w, h, sx, sy) {
				continue
			}
			var d float64
			for c := 0; c < 3; c++ {
				e := float64(curOut[c*n+p]-m.warped[c*n+p]) / 255
				d += e * e
			}
			s += d
			cnt++
		}
	}
	if cnt == 0 {
		return math.NaN()
	}
	e := s / float64(cnt)
	m.sum += e
	m.n++
	return e
}

// Mean is the mean error over the pairs added so far (NaN if none).
func (m *WarpError) Mean() float64 {
	if m.n == 0 {
		return math.NaN()
	}
	return m.sum / float64(m.n)
}

// Pairs is the number of pairs that contributed to Mean.
func (m *WarpError) Pairs() int { return m.n }

// Close stops the flow estimator's workers.
func (m *WarpError) Close() { m.est.Close() }

// GradientMean is the mean Sobel gradient magnitude of the luminance (in
// [0, 1]) of the planar RGB 0..255 image rgb, over the pixels not on the
// border: a measure of how much detail a frame keeps.
func GradientMean(rgb []float32, w, h int) float64 {
	n := w * h
	var s float64
	lum := func(p int) float64 {
		return (0.299*float64(rgb[p]) + 0.587*float64(rgb[n+p]) + 0.114*float64(rgb[2*n+p])) / 255
	}
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			p := y*w + x
			a, b, c := lum(p-w-1), lum(p-w), lum(p-w+1)
			d, f := lum(p-1), lum(p+1)
			g, hh, i := lum(p+w-1), lum(p+w), lum(p+w+1)
			gx := (c + 2*f + i) - (a + 2*d + g)
			gy := (g + 2*hh + i) - (a + 2*b + c)
			s += math.Sqrt(gx*gx + gy*gy)
		}
	}
	return s / float64((w-2)*(h-2))
}
