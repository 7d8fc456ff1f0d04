package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/temporal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSource makes n frames whose pixels encode their number.
type fakeSource struct {
	n, i  int
	err   error // returned at frame errAt
	errAt int
	delay time.Duration
	given atomic.Int64 // frames delivered, for other goroutines to read
}

func (s *fakeSource) Next(ctx context.Context, f *frame.Frame) error {
	if s.err != nil && s.i == s.errAt {
		return s.err
	}
	if s.i >= s.n {
		return io.EOF
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for k := range f.In {
		f.In[k] = float32(s.i)
	}
	f.PTS = int64(100 + 2*s.i)
	s.i++
	s.given.Add(1)
	return nil
}

// addStyler adds 1000 to every pixel, recording batch sizes.
type addStyler struct {
	batch   int
	mu      sync.Mutex
	batches []int
	fail    int // fail on call number fail (1-based; 0 never)
	calls   int
	block   chan struct{}
}

func (s *addStyler) Batch() int { return s.batch }
func (s *addStyler) Run(in, out [][]float32) error {
	s.mu.Lock()
	s.calls++
	c := s.calls
	s.batches = append(s.batches, len(in))
	s.mu.Unlock()
	if s.fail == c {
		return errors.New("styler: boom")
	}
	if s.block != nil {
		<-s.block
	}
	for i := range in {
		for k := range in[i] {
			out[i][k] = in[i][k] + 1000
		}
	}
	return nil
}

// slottedStyler is addStyler through Load/Exec/Store on its slots. It
// checks that each slot goes Load -> Exec -> Store and is used by one call
// at a time, and counts how many slots were busy at once.
type slottedStyler struct {
	addStyler
	slots   int
	mu      sync.Mutex
	state   []int // per slot: 0 free, 1 loaded, 2 executed
	data    [][][]float32
	bad     atomic.Bool
	busy    int
	maxBusy int
	failOp  string // "load", "exec" or "store": fail the second such call
	ops     map[string]int
	// parallel > 1: Execs may run at once (slot 0's take longest, so later
	// batches finish first); execs/maxExecs count them.
	parallel        int
	execs, maxExecs atomic.Int32
}

func (s *slottedStyler) Slots() int { return s.slots }

func (s *slottedStyler) Parallel() int { return max(1, s.parallel) }

func (s *slottedStyler) step(op string, slot, from, to int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		s.state, s.data, s.ops = make([]int, s.slots), make([][][]float32, s.slots), map[string]int{}
	}
	if s.state[slot] != from {
		s.bad.Store(true)
	}
	s.state[slot] = to
	if from == 0 {
		s.busy++
		s.maxBusy = max(s.maxBusy, s.busy)
	}
	if to == 0 {
		s.busy--
	}
	s.ops[op]++
	if op == s.failOp && s.ops[op] == 2 {
		return errors.New("styler: " + op + " failed")
	}
	return nil
}

func (s *slottedStyler) Load(slot int, in [][]float32) error {
	if err := s.step("load", slot, 0, 1); err != nil {
		return err
	}
	s.data[slot] = s.data[slot][:0]
	for _, f := range in {
		s.data[slot] = append(s.data[slot], append([]float32(nil), f...))
	}
	s.addStyler.mu.Lock()
	s.batches = append(s.batches, len(in))
	s.addStyler.mu.Unlock()
	return nil
}

func (s *slottedStyler) Exec(slot int) error {
	n := s.execs.Add(1)
	defer s.execs.Add(-1)
	for m := s.maxExecs.Load(); n > m && !s.maxExecs.CompareAndSwap(m, n); m = s.maxExecs.Load() {
	}
	time.Sleep(time.Millisecond) // long enough for the others to overlap
	if s.parallel > 1 && slot == 0 {
		time.Sleep(3 * time.Millisecond)
	}
	if err := s.step("exec", slot, 1, 2); err != nil {
		return err
	}
	for _, f := range s.data[slot] {
		for k := range f {
			f[k] += 1000
		}
	}
	return nil
}

func (s *slottedStyler) Store(slot int, out [][]float32) error {
	if len(out) != len(s.data[slot]) {
		s.bad.Store(true)
	}
	for i := range out {
		copy(out[i], s.data[slot][i])
	}
	return s.step("store", slot, 2, 0)
}

type recSink struct {
	frames []frame.Frame
	fail   int
}

func (s *recSink) Write(f *frame.Frame) error {
	if s.fail > 0 && len(s.frames)+1 == s.fail {
		return errors.New("sink: disk full")
	}
	s.frames = append(s.frames, frame.Frame{Index: f.Index, PTS: f.PTS, Out: append([]float32(nil), f.Out[:1]...)})
	return nil
}

// seqTemporal checks its calls come in frame order and that Prepare of a
// frame happens before its Apply.
type seqTemporal struct {
	prepared, applied atomic.Int64
	bad               atomic.Bool
	resets            []int
}

func (t *seqTemporal) Prepare(f *frame.Frame) error {
	if int64(f.Index) != t.prepared.Load() {
		t.bad.Store(true)
	}
	if f.Reset {
		t.resets = append(t.resets, f.Index)
	}
	f.Aux[0] = float32(f.Index)
	t.prepared.Add(1)
	return nil
}

func (t *seqTemporal) Apply(f *frame.Frame) error {
	if int64(f.Index) != t.applied.Load() || f.Aux[0] != float32(f.Index) {
		t.bad.Store(true)
	}
	t.applied.Add(1)
	return nil
}

func TestOrderAndBatching(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, batch     int
		wantBatches  []int
		withTemporal bool
	}{
		{"single", 5, 1, []int{1, 1, 1, 1, 1}, false},
		{"batch 4 partial", 10, 4, []int{4, 4, 2}, true},
		{"empty", 0, 2, nil, true},
		{"slotted batch 3 partial", 11, 3, []int{3, 3, 3, 2}, true},
		{"slotted single", 6, 1, []int{1, 1, 1, 1, 1, 1}, false},
		{"slotted parallel", 13, 2, []int{2, 2, 2, 2, 2, 2, 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &addStyler{batch: tc.batch}
			var sl *slottedStyler
			var styler Styler = st
			if strings.HasPrefix(tc.name, "slotted") {
				sl = &slottedStyler{addStyler: addStyler{batch: tc.batch}, slots: 2}
				if strings.HasSuffix(tc.name, "parallel") {
					sl.slots, sl.parallel = 3, 2
				}
				st, styler = &sl.addStyler, sl
			}
			sink := &recSink{}
			tmp := &seqTemporal{}
			cfg := Config{Width: 4, Height: 2, Source: &fakeSource{n: tc.n}, Styler: styler, Sink: sink}
			if tc.withTemporal {
				cfg.Temporal, cfg.AuxLen = tmp, 1
				cfg.MarkReset = func(i int) bool { return i == 3 }
			}
			stats, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Frames != tc.n || len(sink.frames) != tc.n {
				t.Fatalf("wrote %d frames, want %d", len(sink.frames), tc.n)
			}
			for i, f := range sink.frames {
				if f.Index != i || f.PTS != int64(100+2*i) || f.Out[0] != float32(i+1000) {
					t.Fatalf("frame %d: %+v", i, f)
				}
			}
			if len(st.batches) != len(tc.wantBatches) {
				t.Fatalf("batches %v, want %v", st.batches, tc.wantBatches)
			}
			for i := range st.batches {
				if st.batches[i] != tc.wantBatches[i] {
					t.Fatalf("batches %v, want %v", st.batches, tc.wantBatches)
				}
			}
			if sl != nil {
				if sl.bad.Load() {
					t.Fatal("a slot was used out of Load, Exec, Store order")
				}
				if sl.ops["exec"] != len(tc.wantBatches) || sl.addStyler.calls != 0 {
					t.Fatalf("%d execs and %d Run calls for batches %v", sl.ops["exec"], sl.addStyler.calls, tc.wantBatches)
				}
				t.Logf("at most %d slots busy and %d executing at once", sl.maxBusy, sl.maxExecs.Load())
				if want := int32(max(1, sl.parallel)); sl.maxExecs.Load() != want {
					t.Errorf("%d slots executed at once, want %d", sl.maxExecs.Load(), want)
				}
			}
			if tc.withTemporal {
				if tmp.bad.Load() || int(tmp.applied.Load()) != tc.n {
					t.Fatalf("temporal calls out of order (%d applied)", tmp.applied.Load())
				}
				if tc.n > 3 && (len(tmp.resets) != 2 || tmp.resets[0] != 0 || tmp.resets[1] != 3) {
					t.Fatalf("resets %v", tmp.resets)
				}
			}
		})
	}
}

// overlapStyler's first Exec waits until the next batch has been loaded
// into the other slot: it only returns if loading overlaps execution.
type overlapStyler struct {
	loads    atomic.Int32
	second   chan struct{}
	overlaps bool
}

func (o *overlapStyler) Batch() int                    { return 2 }
func (o *overlapStyler) Run(in, out [][]float32) error { return errors.New("Run on a slotted styler") }
func (o *overlapStyler) Slots() int                    { return 2 }
func (o *overlapStyler) Load(slot int, in [][]float32) error {
	if o.loads.Add(1) == 2 {
		close(o.second)
	}
	return nil
}
func (o *overlapStyler) Exec(slot int) error {
	if slot != 0 || o.overlaps {
		return nil
	}
	select {
	case <-o.second:
		o.overlaps = true
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("batch 2 was not loaded while batch 1 ran")
	}
}
func (o *overlapStyler) Store(slot int, out [][]float32) error { return nil }

func TestSlottedOverlaps(t *testing.T) {
	o := &overlapStyler{second: make(chan struct{})}
	st, err := Run(context.Background(), Config{Width: 2, Height: 2, Source: &fakeSource{n: 8}, Styler: o, Sink: &recSink{}})
	if err != nil || st.Frames != 8 || !o.overlaps {
		t.Fatalf("frames %d, overlap %v: %v", st.Frames, o.overlaps, err)
	}
}

func TestSkippedFramesAreNotWritten(t *testing.T) {
	sink := &recSink{}
	st, err := Run(context.Background(), Config{Width: 2, Height: 2, Source: &fakeSource{n: 10},
		Styler: &addStyler{batch: 1}, Sink: sink, MarkSkip: func(i int) bool { return i < 3 }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 7 || st.Skipped != 3 || sink.frames[0].Index != 3 {
		t.Fatalf("stats %+v first %d", st, sink.frames[0].Index)
	}
}

func TestFirstErrorWins(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() Config
		want string
	}{
		{"source", func() Config {
			return Config{Source: &fakeSource{n: 100, err: errors.New("decode: corrupt"), errAt: 5}, Styler: &addStyler{batch: 1}, Sink: &recSink{}}
		}, "decode: corrupt"},
		{"styler", func() Config {
			return Config{Source: &fakeSource{n: 100}, Styler: &addStyler{batch: 2, fail: 3}, Sink: &recSink{}}
		}, "styler: boom"},
		{"slotted load", func() Config {
			return Config{Source: &fakeSource{n: 100}, Styler: &slottedStyler{addStyler: addStyler{batch: 2}, slots: 2, failOp: "load"}, Sink: &recSink{}}
		}, "styler: load failed"},
		{"slotted exec", func() Config {
			return Config{Source: &fakeSource{n: 100}, Styler: &slottedStyler{addStyler: addStyler{batch: 2}, slots: 2, failOp: "exec"}, Sink: &recSink{}}
		}, "styler: exec failed"},
		{"slotted store", func() Config {
			return Config{Source: &fakeSource{n: 100}, Styler: &slottedStyler{addStyler: addStyler{batch: 1}, slots: 3, failOp: "store"}, Sink: &recSink{}}
		}, "styler: store failed"},
		{"sink", func() Config {
			return Config{Source: &fakeSource{n: 100}, Styler: &addStyler{batch: 1}, Sink: &recSink{fail: 4}}
		}, "sink: disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			cfg.Width, cfg.Height = 2, 2
			_, err := Run(context.Background(), cfg)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	for _, slotted := range []bool{false, true} {
		t.Run(fmt.Sprint("slotted=", slotted), func(t *testing.T) { testCancel(t, slotted) })
	}
}

func testCancel(t *testing.T, slotted bool) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &fakeSource{n: 1 << 30, delay: time.Millisecond}
	var styler Styler = &addStyler{batch: 2}
	if slotted {
		styler = &slottedStyler{addStyler: addStyler{batch: 2}, slots: 2}
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Width: 8, Height: 8, Source: src, Styler: styler, Sink: &recSink{}})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("took %v to stop", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pipeline did not stop")
	}
}

// The real temporal stage with lanes (flows of several frames at once,
// Apply waiting for them) under a parallel slotted styler: a whole run
// writes every frame in order, and a cancelled one stops promptly and
// leaves no goroutine behind once the stage is closed.
func TestTemporalLanesInPipeline(t *testing.T) {
	for _, cancelAt := range []time.Duration{0, 30 * time.Millisecond} {
		st, err := temporal.NewStage(32, 24, temporal.Options{Mode: temporal.Blend, Workers: 4, Lanes: 2})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 40
		if cancelAt > 0 {
			n = 1 << 30
		}
		sink := &recSink{}
		styler := &slottedStyler{addStyler: addStyler{batch: 2}, slots: 3, parallel: 2}
		done := make(chan error, 1)
		go func() {
			_, err := Run(ctx, Config{Width: 32, Height: 24, Source: &fakeSource{n: n, delay: time.Millisecond},
				Styler: styler, Temporal: st, AuxLen: st.AuxLen(), Sink: sink})
			done <- err
		}()
		if cancelAt > 0 {
			time.Sleep(cancelAt)
			cancel()
		}
		select {
		case err := <-done:
			switch {
			case cancelAt > 0 && !errors.Is(err, context.Canceled):
				t.Fatalf("cancelled run: %v", err)
			case cancelAt == 0 && err != nil:
				t.Fatal(err)
			case cancelAt == 0 && len(sink.frames) != n:
				t.Fatalf("%d frames written, want %d", len(sink.frames), n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("pipeline did not stop")
		}
		for i, f := range sink.frames {
			if f.Index != i {
				t.Fatalf("frame %d written as %d", f.Index, i)
			}
		}
		cancel()
		st.Close()
	}
}

// TestBoundedInFlight: with the styler blocked, the source is not asked
// for more frames than the pool holds.
func TestBoundedInFlight(t *testing.T) {
	block := make(chan struct{})
	src := &fakeSource{n: 1000}
	st := &addStyler{batch: 1, block: block}
	done := make(chan struct{})
	cfg := Config{Width: 2, Height: 2, Source: src, Styler: st, Sink: &recSink{}}
	go func() {
		Run(context.Background(), cfg)
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	if got, max := int(src.given.Load()), PoolSize(&cfg); got > max {
		t.Fatalf("source delivered %d frames with the styler blocked; pool is %d", got, max)
	}
	close(block)
	<-done
}

func TestProcessingSize(t *testing.T) {
	for _, tc := range []struct {
		w, h, max, fw, fh int
		ww, wh            int
	}{
		{768, 432, 0, 0, 0, 768, 432},
		{768, 432, 384, 0, 0, 384, 216},
		{640, 480, 320, 0, 0, 320, 240},
		{101, 75, 0, 0, 0, 100, 76},
		{1920, 1080, 0, 640, 0, 640, 360},
		{1080, 1920, 0, 0, 480, 272, 480},
		{100, 100, 0, 30, 50, 32, 52},
		{300, 200, 1000, 0, 0, 300, 200},
		{768, 432, 130, 0, 0, 128, 72}, // 130x73 rounds to 132x72: not past 130
		{130, 60, 130, 0, 0, 128, 60},  // the input itself, rounded up past the bound
		{768, 432, 3, 0, 0, 4, 4},      // at least 4
	} {
		if w, h := ProcessingSize(tc.w, tc.h, tc.max, tc.fw, tc.fh); w != tc.ww || h != tc.wh {
			t.Errorf("ProcessingSize(%d,%d,%d,%d,%d) = %dx%d, want %dx%d", tc.w, tc.h, tc.max, tc.fw, tc.fh, w, h, tc.ww, tc.wh)
		}
	}
}

// BenchmarkPipeline shows the steady state allocates nothing per frame
// (the pool is allocated once per run; b.N frames go through one run).
func BenchmarkPipeline(b *testing.B) {
	src := &fakeSource{n: b.N}
	b.ReportAllocs()
	Run(context.Background(), Config{Width: 64, Height: 64, Source: src, Styler: &addStyler{batch: 1}, Sink: discard{}})
}

type discard struct{}

func (discard) Write(*frame.Frame) error { return nil }

// sleepStyler, sleepSink and sleepTemporal add a fixed delay to each call.
type sleepStyler struct {
	addStyler
	d time.Duration
}

func (s *sleepStyler) Run(in, out [][]float32) error {
	time.Sleep(s.d)
	return s.addStyler.Run(in, out)
}

type sleepSink struct {
	recSink
	d time.Duration
}

func (s *sleepSink) Write(f *frame.Frame) error {
	time.Sleep(s.d)
	return s.recSink.Write(f)
}

type sleepTemporal struct {
	seqTemporal
	d time.Duration
}

func (t *sleepTemporal) Apply(f *frame.Frame) error {
	time.Sleep(t.d)
	return t.seqTemporal.Apply(f)
}

// TestBusyNamesTheSlowStage: the stage that takes 4 ms per frame is busy
// for most of the run's wall time, the others for little of it.
func TestBusyNamesTheSlowStage(t *testing.T) {
	const n, d = 20, 4 * time.Millisecond
	for _, slow := range []string{"decode", "network", "apply", "encode"} {
		t.Run(slow, func(t *testing.T) {
			src := &fakeSource{n: n}
			sty := &sleepStyler{addStyler: addStyler{batch: 1}}
			tmp := &sleepTemporal{}
			sink := &sleepSink{}
			switch slow {
			case "decode":
				src.delay = d
			case "network":
				sty.d = d
			case "apply":
				tmp.d = d
			case "encode":
				sink.d = d
			}
			st, err := Run(context.Background(), Config{Width: 8, Height: 4, AuxLen: 1, Source: src, Styler: sty, Temporal: tmp, Sink: sink})
			if err != nil || st.Frames != n {
				t.Fatalf("Run: %d frames, %v", st.Frames, err)
			}
			b := st.Busy
			share := map[string]float64{}
			for name, v := range map[string]time.Duration{"decode": b.Decode, "prepare": b.Prepare, "network": b.Network, "apply": b.Apply, "encode": b.Encode} {
				share[name] = float64(v) / float64(st.Wall)
			}
			if b.Runners != 1 || b.Load != 0 || b.Store != 0 {
				t.Errorf("runners %d, load %v, store %v; want 1, 0, 0 for a plain styler", b.Runners, b.Load, b.Store)
			}
			for name, sh := range share {
				if name == slow && sh < 0.6 || name != slow && sh > 0.3 {
					t.Errorf("%s busy for %.2f of the wall time %v (slow stage %s): %+v", name, sh, st.Wall, slow, share)
				}
			}
		})
	}
}
