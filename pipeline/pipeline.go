// Package pipeline runs vidnst's stages concurrently: decode -> flow ->
// stylize -> temporal -> encode. It is pure Go: the stages that need C
// libraries (FFmpeg, ONNX Runtime) come in through the small interfaces
// below, so the orchestration is tested without them.
//
// Each stage is one goroutine under an errgroup, connected by bounded
// channels; frames come from a fixed pool (frame.Pool), so the number of
// frames in flight, and the memory, do not grow with the video's length.
// A stage owns a frame from the moment it receives it until it sends it on
// (or, for the last stage, puts it back in the pool). Only the sender closes
// a channel, every send selects on ctx.Done(), and the first error cancels
// every stage and is the one returned.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vidnst/vidnst/internal/frame"
)

// Source delivers decoded frames in presentation order. Next fills f.In,
// f.PTS and f.Duration and returns io.EOF after the last frame.
type Source interface {
	Next(ctx context.Context, f *frame.Frame) error
}

// Styler runs the style network: for i < len(in), out[i] = net(in[i]). in
// and out are planar RGB 0..255 of the frame size; len(in) <= Batch().
type Styler interface {
	Batch() int
	Run(in, out [][]float32) error
}

// Slotted is implemented by a Styler that can overlap its copies with the
// network's run (double buffering on a GPU). It has Slots() independent
// tensor sets; for each batch the pipeline calls Load (copy frames in),
// Exec (run the network) and Store (copy results out) on one slot, in that
// order, each from its own goroutine, so Exec on one slot overlaps Load and
// Store on others. A slot is used by one call at a time. With Slots() < 2
// the pipeline uses Run.
type Slotted interface {
	Slots() int
	Load(slot int, in [][]float32) error
	Exec(slot int) error
	Store(slot int, out [][]float32) error
}

// slotted returns s as a Slotted with two or more slots, else nil (the
// pipeline then calls Run).
func slotted(s Styler) Slotted {
	if sl, ok := s.(Slotted); ok && sl.Slots() > 1 {
		return sl
	}
	return nil
}

// Canceler is implemented by a Styler that can abandon a Run in flight;
// Run calls Cancel when its context ends.
type Canceler interface {
	Cancel()
}

// Temporal makes consecutive outputs consistent. Both methods are called in
// frame order, each from its own goroutine: Prepare(f) for frame t may run
// while Apply runs for frame t-1 or earlier, and while the network runs;
// Prepare reads only f.In (and f.Reset) and may write f.Aux; Apply reads
// f.In, f.Aux and rewrites f.Out in place.
type Temporal interface {
	Prepare(f *frame.Frame) error
	Apply(f *frame.Frame) error
}

// Sink consumes finished frames in order (it does not keep f).
type Sink interface {
	Write(f *frame.Frame) error
}

// Config is one run of the pipeline.
type Config struct {
	Width, Height int // processing size
	Source        Source
	Styler        Styler
	Temporal      Temporal // nil: off
	Sink          Sink
	// AuxLen is the length of each frame's Aux buffer (Temporal's scratch).
	AuxLen int
	// Depth is the capacity of each channel between stages (default 2).
	Depth int
	// Progress, if set, is called from the sink's goroutine after each
	// written frame with the number written so far.
	Progress func(written int)
	// MarkReset decides which frames start a new temporal state (the first
	// frame always does).
	MarkReset func(index int) bool
	// MarkSkip decides which frames are warm-up frames: processed but not
	// written to the sink.
	MarkSkip func(index int) bool
}

// Stats describe a finished run.
type Stats struct {
	Frames  int // frames written to the sink
	Skipped int // warm-up frames processed but not written
	// Wall is the run's duration, Busy how long each stage spent working
	// in it (not waiting for a frame or for room downstream): a stage busy
	// for nearly all of Wall is what holds the run back.
	Wall time.Duration
	Busy Busy
}

// Busy is each stage's working time in a run. Network is summed over the
// Runners that execute the network at once (so its share of Wall can reach
// Runners); Load and Store are the slotted styler's copies in and out (zero
// for a plain Styler, whose Run is all Network). With several temporal
// lanes, Prepare only hands frames to the lanes and the flow they compute
// meanwhile shows in Apply's time, which waits for it.
type Busy struct {
	Decode, Prepare, Load, Network, Store, Apply, Encode time.Duration
	Runners                                              int
}

// Add adds o's times to b's (to sum several runs); Runners becomes o's.
func (b *Busy) Add(o Busy) {
	b.Decode += o.Decode
	b.Prepare += o.Prepare
	b.Load += o.Load
	b.Network += o.Network
	b.Store += o.Store
	b.Apply += o.Apply
	b.Encode += o.Encode
	b.Runners = o.Runners
}

// ErrConfig is returned for an incomplete Config.
var ErrConfig = errors.New("pipeline: incomplete config")

// PoolSize is the number of frames a run allocates for cfg.
func PoolSize(cfg *Config) int {
	depth := cfg.Depth
	if depth <= 0 {
		depth = 2
	}
	b := 1
	if cfg.Styler != nil {
		b = cfg.Styler.Batch()
	}
	// One frame held by each of 5 stages, depth in each of 4 channels, and
	// a batch being gathered; a slotted styler holds a batch in each slot.
	n := 5 + 4*depth + b
	if sl := slotted(cfg.Styler); sl != nil {
		n += sl.Slots() * b
	}
	return n
}

// Run pushes every frame of cfg.Source through the stages into cfg.Sink.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	var st Stats
	if cfg.Source == nil || cfg.Styler == nil || cfg.Sink == nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return st, ErrConfig
	}
	depth := cfg.Depth
	if depth <= 0 {
		depth = 2
	}
	if c, ok := cfg.Styler.(Canceler); ok {
		// A user's cancel stops an inference in flight (a large frame on
		// a CPU can take seconds).
		stop := context.AfterFunc(ctx, c.Cancel)
		defer stop()
	}
	pool := frame.NewPool(PoolSize(&cfg), cfg.Width, cfg.Height)
	if cfg.AuxLen > 0 {
		pool.EachFrame(func(f *frame.Frame) { f.Aux = make([]float32, cfg.AuxLen) })
	}
	g, ctx := errgroup.WithContext(ctx)
	decoded := make(chan *frame.Frame, depth)
	prepared := make(chan *frame.Frame, depth)
	styled := make(chan *frame.Frame, depth)
	final := make(chan *frame.Frame, depth)

	start := time.Now()
	bz := &st.Busy
	g.Go(func() error { return decodeStage(ctx, cfg, pool, decoded, &bz.Decode) })
	g.Go(func() error {
		return eachStage(ctx, decoded, prepared, &bz.Prepare, func(f *frame.Frame) error {
			if cfg.Temporal == nil {
				return nil
			}
			return cfg.Temporal.Prepare(f)
		})
	})
	g.Go(func() error {
		if sl := slotted(cfg.Styler); sl != nil {
			return slottedStage(ctx, cfg.Styler.Batch(), sl, prepared, styled, bz)
		}
		bz.Runners = 1
		return styleStage(ctx, cfg.Styler, prepared, styled, &bz.Network)
	})
	g.Go(func() error {
		return eachStage(ctx, styled, final, &bz.Apply, func(f *frame.Frame) error {
			if cfg.Temporal == nil {
				return nil
			}
			return cfg.Temporal.Apply(f)
		})
	})
	g.Go(func() error {
		for f := range final {
			if f.Skip {
				st.Skipped++
			} else {
				t := time.Now()
				err := cfg.Sink.Write(f)
				bz.Encode += time.Since(t)
				if err != nil {
					pool.Put(f)
					return err
				}
				st.Frames++
				if cfg.Progress != nil {
					cfg.Progress(st.Frames)
				}
			}
			pool.Put(f)
		}
		return ctx.Err()
	})
	err := g.Wait()
	st.Wall = time.Since(start)
	return st, err
}

// send passes f on, or gives up when ctx ends.
func send(ctx context.Context, out chan<- *frame.Frame, f *frame.Frame) error {
	select {
	case out <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func decodeStage(ctx context.Context, cfg Config, pool *frame.Pool, out chan<- *frame.Frame, busy *time.Duration) error {
	defer close(out)
	for i := 0; ; i++ {
		f, err := pool.Get(ctx)
		if err != nil {
			return err
		}
		t := time.Now()
		err = cfg.Source.Next(ctx, f)
		*busy += time.Since(t)
		if err != nil {
			pool.Put(f)
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		f.Index = i
		f.Reset = i == 0 || (cfg.MarkReset != nil && cfg.MarkReset(i))
		f.Skip = cfg.MarkSkip != nil && cfg.MarkSkip(i)
		if err := send(ctx, out, f); err != nil {
			pool.Put(f)
			return err
		}
	}
}

// eachStage applies fn to every frame in order and passes it on, adding
// the time fn takes to *busy.
func eachStage(ctx context.Context, in <-chan *frame.Frame, out chan<- *frame.Frame, busy *time.Duration, fn func(*frame.Frame) error) error {
	defer close(out)
	for f := range in {
		t := time.Now()
		err := fn(f)
		*busy += time.Since(t)
		if err != nil {
			return err
		}
		if err := send(ctx, out, f); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// styleStage gathers Batch() frames (fewer at the end of the input), runs
// the network on them and passes them on in order.
func styleStage(ctx context.Context, s Styler, in <-chan *frame.Frame, out chan<- *frame.Frame, busy *time.Duration) error {
	defer close(out)
	b := s.Batch()
	if b < 1 {
		return fmt.Errorf("pipeline: batch %d", b)
	}
	batch := make([]*frame.Frame, 0, b)
	ins := make([][]float32, 0, b)
	outs := make([][]float32, 0, b)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ins, outs = ins[:0], outs[:0]
		for _, f := range batch {
			ins = append(ins, f.In)
			outs = append(outs, f.Out)
		}
		t := time.Now()
		err := s.Run(ins, outs)
		*busy += time.Since(t)
		if err != nil {
			return err
		}
		for _, f := range batch {
			if err := send(ctx, out, f); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for f := range in {
		batch = append(batch, f)
		if len(batch) == b {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return flush()
}

// slotJob is one batch travelling through the slotted stage.
type slotJob struct {
	slot   int
	frames []*frame.Frame // the slot's own backing array
}

// slottedStage is styleStage for a Slotted styler: a loader gathers batches
// and copies them into a free slot, runners execute slots (one, or
// Parallel() when the styler has that method: several frames through the
// network at once), and a storer copies results out in load order and
// passes the frames on, so all of them overlap.
func slottedStage(ctx context.Context, b int, s Slotted, in <-chan *frame.Frame, out chan<- *frame.Frame, bz *Busy) error {
	defer close(out)
	if b < 1 {
		return fmt.Errorf("pipeline: batch %d", b)
	}
	n := s.Slots()
	free := make(chan int, n)
	frames := make([][]*frame.Frame, n)
	bufs := make([][][]float32, n) // per slot: the frames' In or Out slices
	for i := range n {
		free <- i
		frames[i] = make([]*frame.Frame, 0, b)
		bufs[i] = make([][]float32, 0, b)
	}
	// loaded feeds the runners; ordered gives the storer the same jobs in
	// load order, and done[slot] the result of each slot's Exec, so that
	// with several runners frames still leave in order.
	loaded := make(chan slotJob, n)
	ordered := make(chan slotJob, n)
	done := make([]chan error, n)
	for i := range done {
		done[i] = make(chan error, 1) // one Exec per slot in flight
	}
	runners := 1
	if p, ok := s.(interface{ Parallel() int }); ok {
		runners = min(max(p.Parallel(), 1), n)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { // loader
		defer close(ordered)
		defer close(loaded)
		slot := -1
		load := func() error {
			fs := frames[slot]
			ins := bufs[slot][:0]
			for _, f := range fs {
				ins = append(ins, f.In)
			}
			t := time.Now()
			err := s.Load(slot, ins)
			bz.Load += time.Since(t)
			if err != nil {
				return err
			}
			ordered <- slotJob{slot, fs} // never blocks: n slots, capacity n
			loaded <- slotJob{slot, fs}  // likewise
			slot = -1
			return nil
		}
		for f := range in {
			if slot < 0 {
				select {
				case slot = <-free:
				case <-ctx.Done():
					return ctx.Err()
				}
				frames[slot] = frames[slot][:0]
			}
			frames[slot] = append(frames[slot], f)
			if len(frames[slot]) == b {
				if err := load(); err != nil {
					return err
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if slot >= 0 && len(frames[slot]) > 0 {
			return load()
		}
		return nil
	})
	bz.Runners = runners
	execBusy := make([]time.Duration, runners) // each runner's own; summed below
	for r := range runners {
		g.Go(func() error { // runner: every job it takes gets a result
			for j := range loaded {
				t := time.Now()
				err := s.Exec(j.slot)
				execBusy[r] += time.Since(t)
				done[j.slot] <- err
			}
			return nil
		})
	}
	g.Go(func() error { // storer
		for j := range ordered {
			if err := <-done[j.slot]; err != nil {
				return err
			}
			outs := bufs[j.slot][:0]
			for _, f := range j.frames {
				outs = append(outs, f.Out)
			}
			t := time.Now()
			err := s.Store(j.slot, outs)
			bz.Store += time.Since(t)
			if err != nil {
				return err
			}
			for _, f := range j.frames {
				if err := send(ctx, out, f); err != nil {
					return err
				}
			}
			free <- j.slot // never blocks: n slots, capacity n
		}
		return ctx.Err()
	})
	err := g.Wait()
	for _, d := range execBusy {
		bz.Network += d
	}
	return err
}
