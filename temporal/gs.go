package temporal

// Gradient mode's sweeps: sweeps of red-black Gauss-Seidel over the
// pixels blendRows listed (the unpinned ones), each half-sweep (one
// colour) reading the other colour's values from the one before.
//
// Sixteen plain half-sweeps, each over the whole frame, stream ten planes
// (conf, and three each of output, stylized and warped: 83 MB at 1080p)
// through the caches sixteen times. gsWave instead runs them as a
// wavefront: half-sweep k of row y follows half-sweep k-1 of rows y-1, y
// and y+1, which is all it reads, so each worker takes a band of rows and
// sweeps it diagonally, half-sweep k one row behind half-sweep k-1, while
// the few rows in flight stay in its cache. Each half-sweep still reads
// exactly the values it read in the plain order, so the output is
// identical to the bit.

// gsSweep runs Gradient mode's sweeps over the pixels blendRows listed.
func (s *Stage) gsSweep() {
	if s.gsRef != nil {
		s.gsRef()
		return
	}
	s.gsWaveSetup()
	s.run.Run(s.h, s.kWave)
}

// gsRowList returns row y's listed x of colour c (pixels with x+y+c
// even), in the order blendRows listed them.
func (s *Stage) gsRowList(y, c int) []int32 {
	w := s.w
	if (y+c)&1 == 0 { // even x
		return s.gsIdx[y*w : y*w+int(s.gsCnt[2*y])]
	}
	return s.gsIdx[y*w+w-int(s.gsCnt[2*y+1]) : y*w+w]
}

// gsWaveSetup makes the tokens that neighbouring bands of gsWave pass
// each other (once; the bands are the runner's parts of the rows).
func (s *Stage) gsWaveSetup() {
	k := min(s.run.Workers(), s.h)
	if len(s.gsTok) == k-1 {
		return
	}
	s.gsTok = make([]gsBoundary, k-1)
	for i := range s.gsTok {
		s.gsTok[i].down = make(chan struct{}, 2*s.opt.GradientSweeps)
		s.gsTok[i].up = make(chan struct{}, 2*s.opt.GradientSweeps)
	}
}

// gsBoundary carries, between the bands above and below one boundary, a
// token for each half-sweep done on the row next to it (but the last,
// which nothing waits for): down from the band above (its last row), up
// from the band below (its first row).
type gsBoundary struct{ down, up chan struct{} }

// gsWave runs all the half-sweeps on the band of rows [lo, hi) as a
// wavefront: at step r, half-sweep k on the band's row r-k, so half-sweep
// k of a row comes after half-sweep k-1 of the row itself and of the rows
// either side (the row ahead ran in this step, before it). Bands run
// top-down and bottom-up alternately, so two neighbours meet at their
// shared boundary both at their start or both at their end; there a band
// waits for its neighbour's token for half-sweep k-1 of the row across
// before half-sweep k of its own.
func (s *Stage) gsWave(lo, hi int) {
	k := min(s.run.Workers(), s.h)
	i := 0 // the band's index: the runner splits [0, h) at i*h/k
	for i*s.h/k != lo {
		i++
	}
	up := i%2 == 1
	var above, below *gsBoundary
	if i > 0 {
		above = &s.gsTok[i-1]
	}
	if i < k-1 {
		below = &s.gsTok[i]
	}
	half := 2 * s.opt.GradientSweeps
	rows := hi - lo
	for r := 0; r < rows+half-1; r++ {
		for hs := 0; hs < half && hs <= r; hs++ {
			j := r - hs
			if j >= rows {
				continue
			}
			y := lo + j
			if up {
				y = hi - 1 - j
			}
			if hs > 0 {
				if y == lo && above != nil {
					<-above.down
				}
				if y == hi-1 && below != nil {
					<-below.up
				}
			}
			// A band's rows next to another band's go through the Go loop:
			// gsAVX2's discarded loads would read the row across while
			// its band writes it (harmless, but a data race).
			edge := y == lo && above != nil || y == hi-1 && below != nil
			s.gsRow(y, hs&1, edge)
			if hs < half-1 {
				if y == lo && above != nil {
					above.up <- struct{}{}
				}
				if y == hi-1 && below != nil {
					below.down <- struct{}{}
				}
			}
		}
	}
}

// gsRow runs the half-sweep of colour c ((x+y+c) even) of Gradient
// mode's red-black Gauss-Seidel on row y: out(p) = (lambda*c(p)*warped(p)
// + sum_q (out(q) + stylized(p) - stylized(q))) / (lambda*c(p) + deg(p)),
// with stylized kept in prevOut during Apply. It visits only the unpinned
// pixels blendRows listed; pixels of one colour do not neighbour each
// other, so their order does not change the result. Runs of listed pixels
// in interior rows go to gsAVX2 where it may run (not with goOnly),
// eight pixels (four of the colour) at a time; the rest to gsList.
func (s *Stage) gsRow(y, c int, goOnly bool) {
	w, h := s.w, s.h
	n := w * h
	xs := s.gsRowList(y, c)
	if !haveSIMD || goOnly || y == 0 || y == h-1 || len(xs) < 4 {
		s.gsList(y, xs)
		return
	}
	_, _, conf := s.flowConf()
	for i := 0; i < len(xs); {
		j := i + 1 // xs[i:j]: a run of the colour's pixels, x two apart
		for j < len(xs) && (xs[j]-xs[j-1] == 2 || xs[j]-xs[j-1] == -2) {
			j++
		}
		run := xs[i:j]
		i = j
		xlo, xhi := int(min(run[0], run[len(run)-1])), int(max(run[0], run[len(run)-1]))
		xa := xlo // the run's first interior pixel
		if xa == 0 {
			xa = 2
		}
		g := (min(xhi, w-2) - xa + 2) / 8
		if g <= 0 {
			s.gsList(y, run)
			continue
		}
		p := y*w + xa
		gsAVX2(&s.out[p], &s.prevOut[p], &s.warped[p], &conf[p], 4*n, 4*w, g, s.lambda)
		// The run's pixels left of xa and right of the groups.
		left, right := (xa-xlo)/2, (xhi-(xa+8*g-2))/2
		if run[0] > run[len(run)-1] { // odd x are listed right to left
			left, right = right, left
		}
		s.gsList(y, run[:left])
		s.gsList(y, run[len(run)-right:])
	}
}

// gsList is gsRow's Go loop on the listed pixels xs of row y. The
// float32 conversions round each product, as gsAVX2 does, where a build
// for FMA CPUs (GOAMD64=v3) would otherwise fuse it with the addition.
func (s *Stage) gsList(y int, xs []int32) {
	_, _, conf := s.flowConf()
	w, h := s.w, s.h
	n := w * h
	lam := s.lambda
	o0, o1, o2 := s.out[:n:n], s.out[n:2*n:2*n], s.out[2*n:3*n:3*n]
	s0, s1, s2 := s.prevOut[:n:n], s.prevOut[n:2*n:2*n], s.prevOut[2*n:3*n:3*n]
	w0, w1, w2 := s.warped[:n:n], s.warped[n:2*n:2*n], s.warped[2*n:3*n:3*n]
	inner := y > 0 && y < h-1
	for _, xi := range xs {
		x := int(xi)
		p := y*w + x
		l := float32(lam * conf[p])
		if inner && x > 0 && x < w-1 {
			inv := 1 / (l + 4)
			o0[p] = (float32(l*w0[p]) + float32(4*s0[p]) + o0[p-1] + o0[p+1] + o0[p-w] + o0[p+w] - s0[p-1] - s0[p+1] - s0[p-w] - s0[p+w]) * inv
			o1[p] = (float32(l*w1[p]) + float32(4*s1[p]) + o1[p-1] + o1[p+1] + o1[p-w] + o1[p+w] - s1[p-1] - s1[p+1] - s1[p-w] - s1[p+w]) * inv
			o2[p] = (float32(l*w2[p]) + float32(4*s2[p]) + o2[p-1] + o2[p+1] + o2[p-w] + o2[p+w] - s2[p-1] - s2[p+1] - s2[p-w] - s2[p+w]) * inv
			continue
		}
		nb, k := neighbours(p, x, y, w, h)
		inv := 1 / (l + float32(k))
		for _, pl := range [3][3][]float32{{o0, s0, w0}, {o1, s1, w1}, {o2, s2, w2}} {
			o, st, wp := pl[0], pl[1], pl[2]
			sum := float32(l*wp[p]) + float32(float32(k)*st[p])
			for _, q := range nb[:k] {
				sum += o[q] - st[q]
			}
			o[p] = sum * inv
		}
	}
}
