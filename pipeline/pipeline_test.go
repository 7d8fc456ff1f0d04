package pipeline

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vidnst/vidnst/internal/frame"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSource makes n frames whose pixels encode their number.
type fakeSource struct {
	n, i  int
	err   error // returned at frame errAt
	errAt int
	delay time.Duration
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &addStyler{batch: tc.batch}
			sink := &recSink{}
			tmp := &seqTemporal{}
			cfg := Config{Width: 4, Height: 2, Source: &fakeSource{n: tc.n}, Styler: st, Sink: sink}
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
	ctx, cancel := context.WithCancel(context.Background())
	src := &fakeSource{n: 1 << 30, delay: time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Width: 8, Height: 8, Source: src, Styler: &addStyler{batch: 2}, Sink: &recSink{}})
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
	if got, max := src.i, PoolSize(&cfg); got > max {
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
