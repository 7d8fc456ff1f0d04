// Package frame holds the one pixel type that travels through vidnst's
// pipeline, and the fixed pool that frames come from.
//
// A Frame is owned by exactly one stage at a time: the stage that received it
// (from the pool or from a channel) owns it until it sends it on or releases
// it to the pool. Nothing else may read or write it meanwhile.
package frame

import "context"

// Frame is one video frame at the processing size, in the layout the style
// networks take: planar RGB float32, CHW, values 0..255 (R plane, then G,
// then B, each W*H row-major).
type Frame struct {
	W, H int

	// In is the decoded input frame (planar RGB 0..255). Stages after decode
	// only read it (the temporal stage computes optical flow from it).
	In []float32
	// Out is the stylized frame (planar RGB, 0..255, not yet clamped).
	// Written by the stylize stage, refined in place by the temporal stage,
	// read by the encoder.
	Out []float32

	// Aux is scratch space the temporal stage keeps with the frame (its
	// optical flow and confidence), nil when temporal consistency is off.
	Aux []float32

	// Index is the frame's 0-based position in output order.
	Index int
	// PTS is the presentation timestamp in the input video stream's time base.
	PTS int64
	// Duration in the input video stream's time base (0 if unknown).
	Duration int64
	// Reset marks the first frame the pipeline delivers (of the render, the
	// range, or a chunk's warm-up), and any Config.MarkReset picks: temporal
	// state must not carry over into it. Scene cuts are not marked here;
	// the temporal stage detects those itself.
	Reset bool
	// Skip marks a warm-up frame: it goes through every stage (so temporal
	// state builds up) but the encoder does not write it.
	Skip bool
}

// Plane returns plane c (0=R, 1=G, 2=B) of p, a planar buffer of f's size.
func (f *Frame) Plane(p []float32, c int) []float32 {
	n := f.W * f.H
	return p[c*n : (c+1)*n : (c+1)*n]
}

// New allocates a frame of w x h pixels.
func New(w, h int) *Frame {
	n := 3 * w * h
	return &Frame{W: w, H: h, In: make([]float32, n), Out: make([]float32, n)}
}

// Pool is a fixed set of frames allocated once. Get blocks while all frames
// are in use, which bounds the number of frames in flight and gives the
// pipeline its backpressure.
type Pool struct {
	free chan *Frame
	size int
}

// NewPool allocates n frames of w x h.
func NewPool(n, w, h int) *Pool {
	p := &Pool{free: make(chan *Frame, n), size: n}
	for i := 0; i < n; i++ {
		p.free <- New(w, h)
	}
	return p
}

// EachFrame calls fn on every frame; only before the pool is in use.
func (p *Pool) EachFrame(fn func(*Frame)) {
	fs := make([]*Frame, 0, p.size)
	for i := 0; i < p.size; i++ {
		f := <-p.free
		fn(f)
		fs = append(fs, f)
	}
	for _, f := range fs {
		p.free <- f
	}
}

// Size is the number of frames the pool owns.
func (p *Pool) Size() int { return p.size }

// Get takes a free frame, its metadata zeroed (pixels are left as they
// were); the caller owns it until Put. It returns ctx.Err() when ctx ends
// first.
func (p *Pool) Get(ctx context.Context) (*Frame, error) {
	select {
	case f := <-p.free:
		f.Index, f.PTS, f.Duration, f.Reset, f.Skip = 0, 0, 0, false, false
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Put gives a frame back to the pool. The caller must not touch it again.
func (p *Pool) Put(f *Frame) {
	if f == nil {
		return
	}
	select {
	case p.free <- f:
	default:
		panic("frame: Put of a frame the pool does not own")
	}
}
