package temporal

// Gradient mode's sweeps on a compact copy of the unpinned pixels.
//
// At the CLI's default weight (1) most pixels are pinned and the sweeps
// visit a few percent of the frame, scattered along occlusions: each
// visit then reads ten 25 MB planes (conf, three outputs, three stylized,
// three warped) at five places, sixteen times a frame, mostly from beyond
// the L2 cache. gsCompact copies what the sweeps read into one record per
// unpinned pixel, read in order, and keeps the values the sweeps change
// (the unpinned outputs, and the pinned neighbours' outputs, which they do
// not) in one small table; after the sweeps the results go back into the
// frame. The updates repeat gsRows' operations in order on the same
// values, so the output is identical to the bit.

// gsRec is one unpinned pixel. Interior pixels (k == 0) get
// o = ((((a + oL) + oR) + oU) + oD - sL - sR - sU - sD) * inv with
// a = l*warped + 4*stylized; border pixels (k neighbours) get
// o = (a + (o1 - s1) + ... + (ok - sk)) * inv with a = l*warped +
// k*stylized, as gsRows computes them. nb index the output table: a
// record's own output is entry i, a pinned neighbour's one of entries
// L + 4i .. L + 4i + 3 (L records in all).
type gsRec struct {
	a   [3]float32
	inv float32
	nb  [4]int32
	st  [3][4]float32 // stylized at the neighbours, per channel
	k   int32
}

// gsCompact is the Stage's compact sweep state (Apply's goroutine and the
// runner it drives; grown on first use, then reused).
type gsCompact struct {
	pos  []int32    // pixel -> record index, valid at listed pixels only
	off  [2][]int32 // per colour: row y's first record is off[c][y]
	base [2]int     // first record of each colour; base[1] == L0
	n    int        // records in all (L)
	recs []gsRec
	oc   [][4]float32 // outputs: n records, then 4 pinned slots each
	// kernels (made once)
	kPos, kBuild, kSweep, kBack func(lo, hi int)
}

// gsCompactMax: the compact sweeps run when at most 1/gsCompactMax of
// the pixels are unpinned; denser lists stream the planes row by row
// (gsRows), which is then the faster of the two and needs no copy.
const gsCompactMax = 8

// gsForce overrides the choice between gsRows and the compact sweeps
// (tests): 0 chooses by density, 1 always rows, 2 always compact.
var gsForce = 0

// gsSweep runs Gradient mode's sweeps over the pixels blendRows listed.
func (s *Stage) gsSweep() {
	listed := 0
	for _, c := range s.gsCnt {
		listed += int(c)
	}
	compact := listed*gsCompactMax <= s.w*s.h
	switch gsForce {
	case 1:
		compact = false
	case 2:
		compact = true
	}
	if !compact {
		for k := 0; k < s.opt.GradientSweeps; k++ {
			s.color = 0
			s.run.Run(s.h, s.kGS)
			s.color = 1
			s.run.Run(s.h, s.kGS)
		}
		return
	}
	g := s.gsPrepare(listed)
	s.run.Run(s.h, g.kPos)
	s.run.Run(s.h, g.kBuild)
	for k := 0; k < s.opt.GradientSweeps; k++ {
		s.color = 0
		s.run.Run(g.base[1], g.kSweep)
		s.color = 1
		s.run.Run(g.n-g.base[1], g.kSweep)
	}
	s.run.Run(s.h, g.kBack)
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

// gsPrepare sizes the compact state for listed records and sets each
// row's first record per colour.
func (s *Stage) gsPrepare(listed int) *gsCompact {
	g := s.gsc
	if g == nil {
		g = &gsCompact{pos: make([]int32, s.w*s.h)}
		g.off[0], g.off[1] = make([]int32, s.h), make([]int32, s.h)
		g.kPos, g.kBuild, g.kSweep, g.kBack = s.gsPosRows, s.gsBuildRows, s.gsSweepRecs, s.gsBackRows
		s.gsc = g
	}
	if cap(g.recs) < listed {
		g.recs = make([]gsRec, listed, listed+listed/4)
		g.oc = make([][4]float32, 5*cap(g.recs))
	}
	g.recs = g.recs[:listed]
	g.n = listed
	i := 0
	for c := range 2 {
		g.base[c] = i
		for y := 0; y < s.h; y++ {
			g.off[c][y] = int32(i)
			i += len(s.gsRowList(y, c))
		}
	}
	return g
}

// gsPosRows maps rows [lo, hi)'s listed pixels to their records.
func (s *Stage) gsPosRows(lo, hi int) {
	g := s.gsc
	for y := lo; y < hi; y++ {
		for c := range 2 {
			i := g.off[c][y]
			for j, x := range s.gsRowList(y, c) {
				g.pos[y*s.w+int(x)] = i + int32(j)
			}
		}
	}
}

// gsBuildRows fills the records of rows [lo, hi) and their output table
// entries from the frame.
func (s *Stage) gsBuildRows(lo, hi int) {
	g := s.gsc
	_, _, conf := s.flowConf()
	w, h := s.w, s.h
	n := w * h
	lam := s.lambda
	o := [3][]float32{s.out[:n:n], s.out[n : 2*n : 2*n], s.out[2*n : 3*n : 3*n]}
	st := [3][]float32{s.prevOut[:n:n], s.prevOut[n : 2*n : 2*n], s.prevOut[2*n : 3*n : 3*n]}
	wp := [3][]float32{s.warped[:n:n], s.warped[n : 2*n : 2*n], s.warped[2*n : 3*n : 3*n]}
	L := g.n
	for y := lo; y < hi; y++ {
		for c := range 2 {
			i0 := int(g.off[c][y])
			for j, xi := range s.gsRowList(y, c) {
				i := i0 + j
				x := int(xi)
				p := y*w + x
				r := &g.recs[i]
				l := lam * conf[p]
				nb, k := neighbours(p, x, y, w, h)
				if k == 4 {
					r.k = 0
					r.inv = 1 / (l + 4)
					for ch := range 3 {
						r.a[ch] = l*wp[ch][p] + 4*st[ch][p]
					}
				} else {
					r.k = int32(k)
					r.inv = 1 / (l + float32(k))
					for ch := range 3 {
						r.a[ch] = l*wp[ch][p] + float32(k)*st[ch][p]
					}
				}
				e := &g.oc[i]
				e[0], e[1], e[2] = o[0][p], o[1][p], o[2][p]
				for m, q := range nb[:k] {
					for ch := range 3 {
						r.st[ch][m] = st[ch][q]
					}
					if lam*conf[q] > gsFrozen { // pinned: a constant entry
						slot := L + 4*i + m
						r.nb[m] = int32(slot)
						e := &g.oc[slot]
						e[0], e[1], e[2] = o[0][q], o[1][q], o[2][q]
					} else {
						r.nb[m] = g.pos[q]
					}
				}
			}
		}
	}
}

// gsSweepRecs runs the half-sweep of colour s.color on that colour's
// records [lo, hi) (relative to its first).
func (s *Stage) gsSweepRecs(lo, hi int) {
	g := s.gsc
	b := g.base[s.color]
	recs := g.recs[b+lo : b+hi]
	oc := g.oc
	for j := range recs {
		r := &recs[j]
		e := &oc[b+lo+j]
		if r.k == 0 {
			ol, or, ou, od := &oc[r.nb[0]], &oc[r.nb[1]], &oc[r.nb[2]], &oc[r.nb[3]]
			inv := r.inv
			for ch := range 3 {
				t := &r.st[ch]
				e[ch] = (r.a[ch] + ol[ch] + or[ch] + ou[ch] + od[ch] - t[0] - t[1] - t[2] - t[3]) * inv
			}
			continue
		}
		for ch := range 3 {
			sum := r.a[ch]
			for m, q := range r.nb[:r.k] {
				sum += oc[q][ch] - r.st[ch][m]
			}
			e[ch] = sum * r.inv
		}
	}
}

// gsBackRows writes rows [lo, hi)'s swept outputs back into the frame.
func (s *Stage) gsBackRows(lo, hi int) {
	g := s.gsc
	n := s.w * s.h
	o0, o1, o2 := s.out[:n:n], s.out[n:2*n:2*n], s.out[2*n:3*n:3*n]
	for y := lo; y < hi; y++ {
		for c := range 2 {
			i := int(g.off[c][y])
			for j, x := range s.gsRowList(y, c) {
				p := y*s.w + int(x)
				e := &g.oc[i+j]
				o0[p], o1[p], o2[p] = e[0], e[1], e[2]
			}
		}
	}
}
