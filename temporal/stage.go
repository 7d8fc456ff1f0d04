package temporal

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/vidnst/vidnst/internal/frame"
)

// Mode selects how the warped previous output is combined with the
// network's output.
type Mode int

const (
	// Off leaves the stylized frames as they are.
	Off Mode = iota
	// Blend: out = (1 - a*c) * stylized + a*c * warped, per pixel, with c the
	// flow confidence and a the weight (the closed-form minimiser of Ruder et
	// al.'s temporal loss). With a = 1 confident pixels keep the (sharp,
	// bicubic) warp of the previous output exactly.
	Blend
	// Gradient keeps the gradients of the stylized frame and the values of
	// the warped previous output where confident (Bonneel et al. 2015):
	// out minimises sum lambda*c*|out - warped|^2 + |grad out - grad
	// stylized|^2 with lambda = 8a/(1-a), solved by red-black Gauss-Seidel
	// warm-started from the Blend result. Occluded regions get the stylized
	// content without seams.
	Gradient
)

// ParseMode parses "off", "blend" or "gradient" (case-insensitive).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return Off, nil
	case "blend":
		return Blend, nil
	case "gradient":
		return Gradient, nil
	}
	return 0, fmt.Errorf("temporal: unknown mode %q (want off, blend or gradient)", s)
}

func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case Blend:
		return "blend"
	case Gradient:
		return "gradient"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure a Stage.
type Options struct {
	Mode Mode
	// Weight (a, 0..1) is how strongly the warped previous output is kept
	// where the flow is confident. 0 means DefaultWeight.
	Weight float32
	// Preset of the flow estimator (zero value: medium).
	Preset Preset
	// Workers splits each of Prepare's and Apply's work over this many
	// goroutines (0 = GOMAXPROCS). Prepare and Apply each have their own.
	Workers int
	// CutFraction: a frame whose forward-backward check fails on more than
	// this fraction of pixels starts a new shot. 0 means DefaultCutFraction.
	CutFraction float64
	// GradientSweeps is the number of Gauss-Seidel sweeps of Gradient mode
	// (0 means 8).
	GradientSweeps int
	// FlowMaxSide: frames whose longer side exceeds it get their optical
	// flow computed at 1/2 (1/4, ...) of their size, the smallest power of
	// two that brings the longer side to at most FlowMaxSide, and upsampled.
	// 0 means DefaultFlowMaxSide; -1 always computes it at full size.
	FlowMaxSide int
	// Lanes is how many frames' flows Prepare (the pipeline API) computes
	// at once, each lane on Workers/Lanes workers: one frame's flow stops
	// scaling at 4-8 cores, frames are independent. With more than one
	// lane Prepare returns once the frame's grey image is made and its
	// flow has been handed to a lane; Apply waits for it. A Stage with
	// several lanes must be used through Prepare/Apply only. 0 means
	// Workers/4 with 8 or more workers, else 1: measured at 1080p on 16
	// cores (BENCHMARKS.md), 4 lanes made Blend renders ~15% faster; they
	// made Gradient ones ~5% slower when its Apply cost three times
	// Blend's, which it no longer does (its sweeps skip pinned pixels), so
	// Gradient now gets them too (not yet re-measured on 16 cores).
	Lanes int
}

const (
	// DefaultWeight is the weight used when Options.Weight is 0.
	DefaultWeight = 0.9
	// DefaultCutFraction is the cut threshold used when Options.CutFraction
	// is 0.
	DefaultCutFraction = 0.5
	// DefaultFlowMaxSide is the FlowMaxSide used when Options.FlowMaxSide
	// is 0: 720p and 1080p frames get their flow at half size (640x360,
	// 960x540), 4K at a quarter; the network's 384-640 px sizes at full
	// size. Flow at 960x540 is still sub-pixel accurate at 1080p, and
	// Prepare costs about a third.
	DefaultFlowMaxSide = 1024
	// gsFrozen: in Gradient mode a pixel whose data weight lambda*c
	// exceeds this is pinned to the warped previous output (the
	// Gauss-Seidel fixed point differs from it by less than
	// 8*255/gsFrozen, a fifth of a grey level), and skipped by the sweeps.
	gsFrozen = 1e4
)

// Aux layout: [0] flags, then backward flow u, v and confidence (w*h each).
const (
	auxFlagNone  = 0
	auxFlagReset = 1 // first frame of a shot, range or chunk (or after a cut)
	auxFlagCut   = 2 // scene cut detected by Prepare
)

// Stage is the temporal-consistency stage. Its two halves run in separate
// goroutines, each called in frame order:
//
//   - PrepareAux(in, reset, aux) (or Prepare(f)) for frame t reads the
//     input frame, computes the optical flow from frame t back to frame t-1
//     (and the forward flow for the occlusion check) and writes flow and
//     confidence into aux. It only depends on input frames, so it may run
//     while the network is still busy with frame t (or earlier frames) and
//     while ApplyAux runs for earlier frames.
//   - ApplyAux(out, aux) (or Apply(f)) for frame t, called after
//     PrepareAux for frame t has returned and after ApplyAux for frame t-1,
//     warps the previous final output with the flow in aux and combines it
//     with out (the stylized frame t) in place, then keeps a copy of out.
//
// Prepare keeps the previous input's grey image; Apply keeps the previous
// output: each half owns its own state and buffers (allocated once by
// NewStage), so neither allocates per frame. aux is the caller's per-frame
// buffer of AuxLen floats; it is written by Prepare and read by Apply, and
// must not be touched by anything else between the two calls for that
// frame.
type Stage struct {
	w, h int
	opt  Options
	// Prepare's state
	f        int       // flow is computed at 1/f of the frame size
	fw, fh   int       // flow size
	lanes    []*lane   // lanes[0] also serves PrepareAux
	gray     []float32 // current frame's grey image (PrepareAux)
	prevGray []float32
	grayRun  runner
	kGray    func(lo, hi int)
	prepIn   []float32 // current input (for kGray)
	grayDst  []float32 // where kGray writes
	havePrev bool
	async    *asyncPrep // nil with one lane
	// Apply's state
	run             runner
	prevOut, warped []float32
	haveOut         bool
	lambda          float32
	aux, out        []float32 // current Apply call
	// Gradient mode's unpinned pixels, listed by blendRows for the sweeps:
	// row y's even x from gsIdx[y*w] up (gsCnt[2y] of them), its odd x
	// from gsIdx[y*w+w-1] down (gsCnt[2y+1]).
	gsIdx                []int32
	gsCnt                []int32
	kWarp, kBlend, kWave func(lo, hi int)
	gsTok                []gsBoundary // gsWave's tokens between bands
	gsRef                func()       // tests: replaces the sweeps
	kKeep                func(lo, hi int)
	seqAux               []float32 // Process's own aux
}

// lane computes one frame's flows and confidence: two estimators
// (backward, and forward on its own goroutine) and their buffers.
type lane struct {
	s               *Stage
	est             *Estimator // backward flow (t -> t-1)
	est2            *Estimator // forward flow (t-1 -> t) on its own goroutine; nil with one worker
	fwdReq, fwdDone chan struct{}
	gray, prevGray  []float32 // the job's grey images (not owned)
	fu, fv, tmp     []float32 // flow size
	su, sv, sconf   []float32 // backward flow and confidence at flow size (f > 1)
	prepAux         []float32 // current aux (for kUp)
	lastOccFraction float64
	maskRun         runner
	mu, mv, mconf   []float32 // the mask job
	maskOcc         int
	occMu           sync.Mutex
	kUp             func(lo, hi int)
	kMask1, kMask2  func(lo, hi int)
}

// MinSize is the smallest frame side NewStage takes.
const MinSize = 16

// NewStage returns a stage for w x h frames. With Mode Off it does nothing
// (Prepare/Apply return at once).
func NewStage(w, h int, opt Options) (*Stage, error) {
	if w < MinSize || h < MinSize {
		return nil, fmt.Errorf("temporal: frame %dx%d too small (min %dx%d)", w, h, MinSize, MinSize)
	}
	if opt.Weight == 0 {
		opt.Weight = DefaultWeight
	}
	if opt.Weight < 0 || opt.Weight > 1 {
		return nil, fmt.Errorf("temporal: weight %g outside 0..1", opt.Weight)
	}
	if opt.CutFraction == 0 {
		opt.CutFraction = DefaultCutFraction
	}
	if opt.GradientSweeps == 0 {
		opt.GradientSweeps = 8
	}
	if opt.GradientSweeps < 0 {
		return nil, fmt.Errorf("temporal: %d gradient sweeps", opt.GradientSweeps)
	}
	s := &Stage{w: w, h: h, opt: opt}
	if opt.Mode == Off {
		return s, nil
	}
	n := w * h
	maxSide := opt.FlowMaxSide
	if maxSide == 0 {
		maxSide = DefaultFlowMaxSide
	}
	s.f = 1
	for maxSide > 0 && max(w, h) > s.f*maxSide && min(w, h)/(2*s.f) >= 16 {
		s.f *= 2
	}
	s.fw, s.fh = (w+s.f-1)/s.f, (h+s.f-1)/s.f
	fn := s.fw * s.fh
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nl := opt.Lanes
	if nl <= 0 {
		nl = 1
		if workers >= 8 {
			nl = workers / 4
		}
	}
	for range nl {
		s.lanes = append(s.lanes, s.newLane(max(1, workers/nl)))
	}
	s.gray, s.prevGray = make([]float32, fn), make([]float32, fn)
	s.grayRun = newRunner(opt.Workers)
	s.kGray = s.grayRows
	if nl > 1 {
		s.async = newAsyncPrep(s, nl)
	}
	s.run = newRunner(opt.Workers)
	s.prevOut, s.warped = make([]float32, 3*n), make([]float32, 3*n)
	if opt.Mode == Gradient {
		s.gsIdx, s.gsCnt = make([]int32, n), make([]int32, 2*h)
	}
	a := opt.Weight
	if a >= 0.9999 {
		s.lambda = 1e5
	} else {
		s.lambda = 8 * a / (1 - a)
	}
	s.kWarp, s.kBlend, s.kWave = s.warpRows, s.blendRows, s.gsWave
	s.kKeep = s.keepRows
	return s, nil
}

// newLane makes a lane whose flows use workers goroutines in all. With two
// or more, the two flows of a frame run at once, each on half of them:
// their phases' barriers then overlap instead of idling cores. With one
// they run one after the other.
func (s *Stage) newLane(workers int) *lane {
	fn := s.fw * s.fh
	l := &lane{s: s}
	l.est = NewEstimator(s.fw, s.fh, s.opt.Preset, max(1, workers/2))
	if workers >= 2 {
		l.est2 = NewEstimator(s.fw, s.fh, s.opt.Preset, workers/2)
		l.fwdReq, l.fwdDone = make(chan struct{}), make(chan struct{})
		go func(req <-chan struct{}, done chan<- struct{}) {
			for range req {
				l.est2.Compute(l.prevGray, l.gray, l.fu, l.fv)
				done <- struct{}{}
			}
		}(l.fwdReq, l.fwdDone)
	}
	l.fu, l.fv, l.tmp = make([]float32, fn), make([]float32, fn), make([]float32, fn)
	if s.f > 1 {
		l.su, l.sv, l.sconf = make([]float32, fn), make([]float32, fn), make([]float32, fn)
	}
	l.maskRun = newRunner(workers)
	l.kUp, l.kMask1, l.kMask2 = l.upRows, l.mask1Rows, l.mask2Rows
	return l
}

func (l *lane) close() {
	l.est.Close()
	if l.est2 != nil {
		l.est2.Close()
		close(l.fwdReq)
	}
	l.maskRun.Close()
}

// AuxLen is the length of the per-frame aux buffer Prepare writes (0 when
// the mode is Off).
func (s *Stage) AuxLen() int {
	if s.opt.Mode == Off {
		return 0
	}
	return 1 + 3*s.w*s.h
}

// Close stops the stage's worker goroutines. The stage may not be used
// afterwards.
func (s *Stage) Close() {
	if s.async != nil {
		s.async.close()
		s.async = nil
	}
	for _, l := range s.lanes {
		l.close()
	}
	s.lanes = nil
	s.grayRun.Close()
	s.run.Close()
}

// LastOccludedFraction is the fraction of pixels that failed the
// forward-backward check in the last PrepareAux (for diagnostics; read it
// from Prepare's goroutine; not kept by the asynchronous Prepare).
func (s *Stage) LastOccludedFraction() float64 {
	if len(s.lanes) == 0 {
		return 0
	}
	return s.lanes[0].lastOccFraction
}

// Prepare is PrepareAux on a pipeline frame: it reads f.In and f.Reset and
// writes f.Aux (which must have AuxLen floats).
func (s *Stage) Prepare(f *frame.Frame) error {
	if s.opt.Mode == Off {
		return nil
	}
	if f.W != s.w || f.H != s.h || len(f.Aux) < s.AuxLen() || len(f.In) < 3*s.w*s.h {
		return errors.New("temporal: Prepare: frame size or Aux length does not match the stage")
	}
	if s.async != nil {
		return s.async.prepare(f.In, f.Reset, f.Aux)
	}
	s.PrepareAux(f.In, f.Reset, f.Aux)
	return nil
}

// Apply is ApplyAux on a pipeline frame: it reads f.Aux and rewrites f.Out.
func (s *Stage) Apply(f *frame.Frame) error {
	if s.opt.Mode == Off {
		return nil
	}
	if f.W != s.w || f.H != s.h || len(f.Aux) < s.AuxLen() || len(f.Out) < 3*s.w*s.h {
		return errors.New("temporal: Apply: frame size or Aux length does not match the stage")
	}
	if s.async != nil {
		if err := s.async.wait(); err != nil {
			return err
		}
	}
	s.ApplyAux(f.Out, f.Aux)
	return nil
}

// PrepareAux computes the flow from input frame in (planar RGB 0..255) back
// to the previous input frame, and its confidence, into aux (AuxLen floats).
// reset marks the first frame of a shot, range or chunk: no flow is
// computed and Apply will start afresh. It returns true when it detected a
// scene cut (which Apply also treats as a reset). in is only read, and not
// kept after the call.
func (s *Stage) PrepareAux(in []float32, reset bool, aux []float32) (cut bool) {
	if s.opt.Mode == Off {
		return false
	}
	s.makeGray(in, s.gray)
	first := reset || !s.havePrev
	cut = s.lanes[0].flow(s.gray, s.prevGray, first, aux)
	s.gray, s.prevGray = s.prevGray, s.gray
	s.havePrev = true
	return cut
}

// makeGray writes the flow-size grey image of in into dst.
func (s *Stage) makeGray(in, dst []float32) {
	s.prepIn, s.grayDst = in, dst
	s.grayRun.Run(s.fh, s.kGray)
	s.prepIn, s.grayDst = nil, nil
}

// flow computes the flow from grey image gray back to prevGray and its
// confidence into aux (only the reset flag when first), and reports a
// detected cut.
func (l *lane) flow(gray, prevGray []float32, first bool, aux []float32) (cut bool) {
	s := l.s
	n := s.w * s.h
	l.lastOccFraction = 0
	if first {
		aux[0] = auxFlagReset
		return false
	}
	l.gray, l.prevGray = gray, prevGray
	defer func() { l.gray, l.prevGray = nil, nil }()
	bu, bv, conf := aux[1:1+n:1+n], aux[1+n:1+2*n:1+2*n], aux[1+2*n:1+3*n:1+3*n]
	if s.f > 1 { // at flow size first, upsampled below
		bu, bv, conf = l.su, l.sv, l.sconf
	}
	if l.est2 != nil {
		l.fwdReq <- struct{}{} // forward flow into fu, fv meanwhile
		l.est.Compute(gray, prevGray, bu, bv)
		<-l.fwdDone
	} else {
		l.est.Compute(gray, prevGray, bu, bv)
		l.est.Compute(prevGray, gray, l.fu, l.fv)
	}
	l.lastOccFraction = l.confidence(conf, bu, bv)
	if l.lastOccFraction > s.opt.CutFraction {
		aux[0] = auxFlagCut
		cut = true
	} else {
		aux[0] = auxFlagNone
	}
	if s.f > 1 && !cut {
		l.prepAux = aux
		l.maskRun.Run(s.h, l.kUp)
		l.prepAux = nil
	}
	return cut
}

// confidence is Confidence, row-parallel.
func (l *lane) confidence(conf, bu, bv []float32) float64 {
	l.mu, l.mv, l.mconf = bu, bv, conf
	l.maskOcc = 0
	l.maskRun.Run(l.s.fh, l.kMask1)
	l.maskRun.Run(l.s.fh, l.kMask2)
	l.mu, l.mv, l.mconf = nil, nil, nil
	return float64(l.maskOcc) / float64(l.s.fw*l.s.fh)
}

// grayRows writes rows [lo, hi) of the flow-size grey image s.grayDst: the
// luminance of s.prepIn averaged over f x f blocks (clamped at the right
// and bottom edges).
func (s *Stage) grayRows(lo, hi int) {
	w, h, f, n := s.w, s.h, s.f, s.w*s.h
	if f == 1 {
		grayRange(s.grayDst, s.prepIn, n, lo*w, hi*w)
		return
	}
	r, g, b := s.prepIn[:n:n], s.prepIn[n:2*n:2*n], s.prepIn[2*n:3*n:3*n]
	for y := lo; y < hi; y++ {
		dst := s.grayDst[y*s.fw : (y+1)*s.fw : (y+1)*s.fw]
		y0, y1 := y*f, min(y*f+f, h)
		x := 0
		if f == 2 && y1-y0 == 2 { // whole 2x2 blocks: the loop below, unrolled
			o0, o1 := y0*w, y1*w-w
			r0, g0, b0 := r[o0:o0+w:o0+w], g[o0:o0+w:o0+w], b[o0:o0+w:o0+w]
			r1, g1, b1 := r[o1:o1+w:o1+w], g[o1:o1+w:o1+w], b[o1:o1+w:o1+w]
			for ; 2*x+2 <= w && x < len(dst); x++ {
				i := 2 * x
				var sum float32
				sum += luma(r0[i], g0[i], b0[i])
				sum += luma(r0[i+1], g0[i+1], b0[i+1])
				sum += luma(r1[i], g1[i], b1[i])
				sum += luma(r1[i+1], g1[i+1], b1[i+1])
				dst[x] = sum / 4
			}
		}
		for ; x < len(dst); x++ {
			x0, x1 := x*f, min(x*f+f, w)
			var sum float32
			for yy := y0; yy < y1; yy++ {
				o := yy * w
				for xx := x0; xx < x1; xx++ {
					sum += luma(r[o+xx], g[o+xx], b[o+xx])
				}
			}
			dst[x] = sum / float32((y1-y0)*(x1-x0))
		}
	}
}

// upRows upsamples the flow-size backward flow and confidence into rows
// [lo, hi) of the aux buffer (bilinear, pixel centres aligned; vectors
// scaled by f).
func (l *lane) upRows(lo, hi int) {
	s := l.s
	n := s.w * s.h
	aux := l.prepAux
	bu, bv, conf := aux[1:1+n:1+n], aux[1+n:1+2*n:1+2*n], aux[1+2*n:1+3*n:1+3*n]
	upsample(l.su, l.sv, s.fw, s.fh, bu, bv, s.w, lo, hi, s.f)
	upsampleScalar(l.sconf, s.fw, s.fh, conf, s.w, lo, hi, s.f)
}

func (l *lane) mask1Rows(lo, hi int) {
	fw, fh := l.s.fw, l.s.fh
	occ := hardMaskRows(l.mconf, l.mu, l.mv, l.fu, l.fv, fw, fh, lo, hi)
	softenRows(l.tmp, l.mconf, fw, fh, lo, hi, true)
	l.occMu.Lock()
	l.maskOcc += occ
	l.occMu.Unlock()
}

func (l *lane) mask2Rows(lo, hi int) {
	softenRows(l.mconf, l.tmp, l.s.fw, l.s.fh, lo, hi, false)
}

// ApplyAux combines out (the stylized frame, planar RGB 0..255, modified in
// place) with the warped previous output, using the flow Prepare wrote into
// aux, and remembers the result as the previous output. It neither keeps
// out nor aux after the call.
func (s *Stage) ApplyAux(out, aux []float32) {
	if s.opt.Mode == Off {
		return
	}
	n3 := 3 * s.w * s.h
	if aux[0] != auxFlagNone || !s.haveOut {
		s.out = out[:n3:n3]
		s.run.Run(s.h, s.kKeep)
		s.out = nil
		s.haveOut = true
		return
	}
	s.aux, s.out = aux, out[:n3:n3]
	s.run.Run(s.h, s.kWarp)
	s.run.Run(s.h, s.kBlend)
	if s.opt.Mode == Gradient {
		s.gsSweep()
		// prevOut holds the stylized frame (blendRows put it there);
		// keepRows replaces it with the result.
	}
	s.run.Run(s.h, s.kKeep)
	s.aux, s.out = nil, nil
}

// keepRows copies rows [lo, hi) of out into prevOut (all three planes).
func (s *Stage) keepRows(lo, hi int) {
	n := s.w * s.h
	for c := 0; c < 3; c++ {
		a, b := c*n+lo*s.w, c*n+hi*s.w
		copy(s.prevOut[a:b], s.out[a:b])
	}
}

// Process runs PrepareAux and ApplyAux back to back on one frame (for
// callers without a pipeline): in is the input frame, out the stylized
// frame, refined in place. It returns true on a detected scene cut.
func (s *Stage) Process(in, out []float32, reset bool) (cut bool) {
	if s.opt.Mode == Off {
		return false
	}
	if s.seqAux == nil {
		s.seqAux = make([]float32, s.AuxLen())
	}
	cut = s.PrepareAux(in, reset, s.seqAux)
	s.ApplyAux(out, s.seqAux)
	return cut
}

func (s *Stage) flowConf() (bu, bv, conf []float32) {
	n := s.w * s.h
	a := s.aux
	return a[1 : 1+n : 1+n], a[1+n : 1+2*n : 1+2*n], a[1+2*n : 1+3*n : 1+3*n]
}

func (s *Stage) warpRows(lo, hi int) {
	bu, bv, _ := s.flowConf()
	warpRows(s.warped, s.prevOut, 3, s.w, s.h, bu, bv, lo, hi)
}

// blendRows: out = (1 - a*c) * out + a*c * warped on rows [lo, hi). In
// Gradient mode it also saves the stylized frame into prevOut (free once
// warped is computed) for the sweeps (gs.go), and lists the rows' unpinned pixels.
func (s *Stage) blendRows(lo, hi int) {
	_, _, conf := s.flowConf()
	n := s.w * s.h
	a := s.opt.Weight
	grad := s.opt.Mode == Gradient
	for c := 0; c < 3; c++ {
		o := row(s.out, c*n+lo*s.w, (hi-lo)*s.w)
		wp := row(s.warped, c*n+lo*s.w, (hi-lo)*s.w)
		cf := row(conf, lo*s.w, (hi-lo)*s.w)
		st := row(s.prevOut, c*n+lo*s.w, (hi-lo)*s.w)
		i0 := 0
		if m := len(o) &^ 7; haveSIMD && m > 0 {
			blendAVX2(&o[0], &wp[0], &cf[0], &st[0], m, a, s.lambda, grad)
			i0 = m
		}
		for i := i0; i < len(o); i++ {
			k := a * cf[i]
			if grad {
				st[i] = o[i]
				if s.lambda*cf[i] > gsFrozen { // pinned: see gsFrozen
					k = 1
				}
			}
			o[i] += float32(k * (wp[i] - o[i])) // rounded, as in blendAVX2 (no FMA)
		}
	}
	if grad {
		s.listUnpinned(conf, lo, hi)
	}
}

// listUnpinned fills gsIdx and gsCnt for rows [lo, hi): the pixels the
// sweeps update, split by the parity of x (one colour each per row).
func (s *Stage) listUnpinned(conf []float32, lo, hi int) {
	w := s.w
	for y := lo; y < hi; y++ {
		cf := row(conf, y*w, w)
		idx := s.gsIdx[y*w : y*w+w : y*w+w]
		ne, no := 0, 0
		for x, c := range cf {
			if s.lambda*c > gsFrozen {
				continue
			}
			if x&1 == 0 {
				idx[ne] = int32(x)
				ne++
			} else {
				no++
				idx[w-no] = int32(x)
			}
		}
		s.gsCnt[2*y], s.gsCnt[2*y+1] = int32(ne), int32(no)
	}
}

// neighbours lists the 4-neighbours of pixel p = (x, y) inside a w x h
// frame.
func neighbours(p, x, y, w, h int) (nb [4]int, k int) {
	if x > 0 {
		nb[k] = p - 1
		k++
	}
	if x < w-1 {
		nb[k] = p + 1
		k++
	}
	if y > 0 {
		nb[k] = p - w
		k++
	}
	if y < h-1 {
		nb[k] = p + w
		k++
	}
	return nb, k
}
