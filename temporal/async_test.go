package temporal

import (
	"testing"

	"github.com/vidnst/vidnst/internal/frame"
)

// Several lanes (flows of several frames at once, Prepare ahead of Apply
// as in the pipeline) give exactly the frames one lane gives, across a
// caller reset and a scene cut, in both modes; flows at reduced size too.
func TestLanesMatchSequential(t *testing.T) {
	ins, outs, w, h := flickerSequence(t, 10)
	// Frame 6 is unrelated to frame 5 (a cut): the sequence played backwards
	// from frame 9 with a different gain.
	cutIn := make([]float32, len(ins[0]))
	for i, v := range ins[9] {
		cutIn[len(cutIn)-1-i] = v
	}
	ins[6], outs[6] = cutIn, append([]float32(nil), cutIn...)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"gradient", Options{Mode: Gradient, Weight: 1}},
		{"blend", Options{Mode: Blend, Weight: 0.8}},
		{"blend, flow at half size", Options{Mode: Blend, Weight: 0.9, FlowMaxSide: 128}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seqOpt, lanesOpt := tc.opt, tc.opt
			seqOpt.Workers, seqOpt.Lanes = 2, 1
			lanesOpt.Workers, lanesOpt.Lanes = 6, 3 // 2 workers per lane, as above
			want := renderFrames(t, w, h, seqOpt, ins, outs)
			got := renderFrames(t, w, h, lanesOpt, ins, outs)
			for k := range want {
				for i := range want[k] {
					if got[k][i] != want[k][i] {
						t.Fatalf("frame %d value %d: %v with lanes, %v without", k, i, got[k][i], want[k][i])
					}
				}
			}
		})
	}
}

// renderFrames runs a sequence through a stage the way the pipeline does:
// Prepare on one goroutine, up to 6 frames ahead of Apply on another.
// Frame 3 is a caller reset.
func renderFrames(t *testing.T, w, h int, opt Options, ins, outs [][]float32) [][]float32 {
	t.Helper()
	s, err := NewStage(w, h, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := max(1, opt.Lanes); len(s.lanes) != want || (s.async != nil) != (want > 1) {
		t.Fatalf("%d lanes, async %v; want %d", len(s.lanes), s.async != nil, want)
	}
	frames := make([]*frame.Frame, len(ins))
	ch := make(chan *frame.Frame, 6)
	errs := make(chan error, 1)
	go func() {
		defer close(ch)
		for k := range ins {
			f := frame.New(w, h)
			f.Aux = make([]float32, s.AuxLen())
			copy(f.In, ins[k])
			copy(f.Out, outs[k])
			f.Reset = k == 0 || k == 3
			if err := s.Prepare(f); err != nil {
				errs <- err
				return
			}
			frames[k] = f
			ch <- f
		}
	}()
	for f := range ch {
		if err := s.Apply(f); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	res := make([][]float32, len(frames))
	for k, f := range frames {
		res[k] = f.Out
	}
	return res
}

// Apply before any Prepare is an error, not a hang.
func TestLanesApplyWithoutPrepare(t *testing.T) {
	s, err := NewStage(64, 48, Options{Mode: Blend, Workers: 4, Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := frame.New(64, 48)
	f.Aux = make([]float32, s.AuxLen())
	if err := s.Apply(f); err == nil {
		t.Fatal("Apply without Prepare worked")
	}
}
