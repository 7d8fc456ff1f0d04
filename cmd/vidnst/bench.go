package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/stylize"
	"github.com/vidnst/vidnst/temporal"
)

// benchResult is what `vidnst bench` prints (as text, or JSON with --json).
type benchResult struct {
	Model          string  `json:"model"`
	Device         string  `json:"device"`
	Mend           string  `json:"mend,omitempty"`            // what the CUDA session did to fp16 norms (stylize.Session.Mend)
	HalfIO         bool    `json:"float16_tensors,omitempty"` // the network's input and output are float16 (stylize.Session.HalfIO)
	Width          int     `json:"width"`
	Height         int     `json:"height"`
	Batch          int     `json:"batch"`
	Threads        int     `json:"threads"`
	Frames         int     `json:"frames"`
	InferenceFPS   float64 `json:"inference_fps"`            // median over repeats
	EndToEndFPS    float64 `json:"end_to_end_fps,omitempty"` // whole render, decode to mux
	Efficiency     float64 `json:"efficiency,omitempty"`     // end-to-end / inference-only
	TemporalMode   string  `json:"temporal,omitempty"`       // temporal mode of the end-to-end run
	EndToEndFrames int     `json:"end_to_end_frames,omitempty"`
	// CPU time of the whole process (all threads) per frame, medians.
	InferenceCPUms float64 `json:"inference_cpu_ms_per_frame"`
	// The session's start, outside the steady-state numbers: opening it
	// (loading the model, the provider) and the first pass over the frames
	// (on CUDA it includes cuDNN's tuning and the memory arena's growth).
	OpenSec       float64 `json:"open_s"`
	FirstPassFPS  float64 `json:"first_pass_fps"`
	EndToEndCPUms float64 `json:"end_to_end_cpu_ms_per_frame,omitempty"`
	// Busy: each pipeline stage's working time as a share of the end-to-end
	// runs' wall time (all repeats); the network's is per runner. The stage
	// near 1 is what holds the render back.
	Busy    *busyShares `json:"busy,omitempty"`
	Runners int         `json:"network_runners,omitempty"`
}

// busyShares are pipeline.Busy as shares of the wall time.
type busyShares struct {
	Decode  float64 `json:"decode"`
	Prepare float64 `json:"temporal_prepare"`
	Load    float64 `json:"load"`
	Network float64 `json:"network"`
	Store   float64 `json:"store"`
	Apply   float64 `json:"temporal_apply"`
	Encode  float64 `json:"encode"`
}

// shares turns summed busy times over a summed wall time into shares.
func shares(b pipeline.Busy, wall time.Duration) *busyShares {
	if wall <= 0 {
		return nil
	}
	f := func(d time.Duration) float64 { return float64(d) / float64(wall) }
	return &busyShares{Decode: f(b.Decode), Prepare: f(b.Prepare), Load: f(b.Load),
		Network: f(b.Network) / float64(max(b.Runners, 1)), Store: f(b.Store), Apply: f(b.Apply), Encode: f(b.Encode)}
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	ro := defaultRenderOpts()
	var size string
	var frames, repeats int
	var asJSON, e2e bool
	c := &cobra.Command{
		Use:   "bench [INPUT] --style S [--size WxH] [--batch N] [--device D] [--fp16]",
		Short: "Measure inference-only fps, and end-to-end fps of a real render of INPUT",
		Long: `Without INPUT, bench times the network alone on synthetic frames of --size.
With INPUT, it decodes the first --bench-frames frames of it at the processing size,
times the network alone on exactly those frames, then times a full render of the same
frames (decode, stylize, temporal, encode, mux) with the same warmed-up session and
prints the ratio: the pipeline's efficiency. The session's start (opening it, and the
first pass, where a GPU tunes its convolutions) is printed on its own line.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(ro.styles) != 1 {
				return usagef("bench needs one --style")
			}
			ro.style = ro.styles[0]
			if err := ro.check(""); err != nil {
				return err
			}
			if err := notFor(cmd, "bench times the first --bench-frames frames", append(rangeFlags, "force")...); err != nil {
				return err
			}
			if frames < 1 {
				return usagef("--bench-frames %d: want 1 or more", frames)
			}
			if repeats < 1 {
				return usagef("--repeats %d: want 1 or more", repeats)
			}
			in := ""
			if len(args) == 1 {
				in = args[0]
			}
			// One way to give the size: --size, or the render's flags
			// sizing INPUT's frames.
			if in == "" {
				if err := notFor(cmd, "without INPUT, bench times frames of --size (default 384x216)", "max-side", "width", "height"); err != nil {
					return err
				}
			} else if cmd.Flags().Changed("size") {
				if err := notFor(cmd, "--size gives the size", "max-side", "width", "height"); err != nil {
					return err
				}
			}
			res, err := bench(cmd.Context(), ro, in, size, frames, repeats, e2e, stderr)
			if err != nil {
				return err
			}
			if asJSON {
				b, _ := json.Marshal(res)
				fmt.Fprintln(stdout, string(b))
				return nil
			}
			device := res.Device
			var notes []string
			if res.Mend != "" {
				notes = append(notes, res.Mend)
			}
			if res.HalfIO {
				notes = append(notes, "float16 tensors")
			}
			if len(notes) > 0 {
				device += " (" + strings.Join(notes, "; ") + ")"
			}
			fmt.Fprintf(stdout, "bench: %s on %s, %dx%d, batch %d, threads %d: inference-only %.2f fps (%s over %d frames)\n",
				res.Model, device, res.Width, res.Height, res.Batch, res.Threads, res.InferenceFPS, map[bool]string{true: "one run", false: fmt.Sprintf("median of %d runs", repeats)}[repeats == 1], res.Frames)
			fmt.Fprintf(stdout, "bench: start (not in the rates): session open %.2f s, first pass %.2f fps\n", res.OpenSec, res.FirstPassFPS)
			if res.EndToEndFPS > 0 {
				fmt.Fprintf(stdout, "bench: end-to-end %.2f fps over %d frames (temporal %s): efficiency %.3f; cpu per frame: network alone %.0f ms, whole pipeline %.0f ms\n",
					res.EndToEndFPS, res.EndToEndFrames, res.TemporalMode, res.Efficiency, res.InferenceCPUms, res.EndToEndCPUms)
			}
			if b := res.Busy; b != nil {
				fmt.Fprintf(stdout, "bench: busy share of the end-to-end wall time: decode %.2f, temporal prepare %.2f, load %.2f, network %.2f (%d runners), store %.2f, temporal apply %.2f, encode %.2f\n",
					b.Decode, b.Prepare, b.Load, b.Network, res.Runners, b.Store, b.Apply, b.Encode)
			}
			return nil
		},
	}
	ro.addFlags(c)
	hideFlags(c, append(rangeFlags, "force")...) // refused: bench times the first frames
	c.Flags().StringVar(&size, "size", "", "frame size WxH for synthetic frames (default 384x216), or the processing size of INPUT")
	c.Flags().IntVar(&frames, "bench-frames", 60, "frames to time")
	c.Flags().IntVar(&repeats, "repeats", 3, "repeats: each times inference alone, then (with INPUT) the whole pipeline; medians are reported")
	c.Flags().BoolVar(&e2e, "e2e", true, "with INPUT, also time a full render")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

// benchMemory bounds the frames bench holds (--bench-frames x the
// frame's size): 4 GB, e.g. 2009 frames of 384x216 or 80 of 1920x1080.
const benchMemory = 4e9

func parseSize(s string) (int, int, error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || w < 4 || h < 4 || w > maxProcessingSide || h > maxProcessingSide {
		return 0, 0, usagef("--size %q: want WxH, each side 4..%d", s, maxProcessingSide)
	}
	return w, h, nil
}

func bench(ctx context.Context, ro *renderOpts, in, size string, n, repeats int, e2e bool, stderr io.Writer) (*benchResult, error) {
	model, err := resolveStyle(ro, ro.style, stderr)
	if err != nil {
		return nil, err
	}
	if repeats < 1 {
		repeats = 1
	}
	w, h := 384, 216
	if size != "" {
		if w, h, err = parseSize(size); err != nil {
			return nil, err
		}
	}
	var frames []*frame.Frame
	// The frames are held for the whole benchmark: at most benchMemory
	// bytes of them (--bench-frames 100000 filled 22 GB and was killed).
	// INPUT may have fewer frames than asked for.
	per := func() int64 { return int64(2 * 3 * 4 * w * h) } // In and Out, float32 RGB
	tooMany := func() error {
		return usagef("--bench-frames %d: that many frames of %dx%d take %.1f GB; at most %d at this size", n, w, h, float64(n)*float64(per())/1e9, benchMemory/per())
	}
	if in != "" {
		info, err := decode.Probe(in)
		if err != nil {
			return nil, err
		}
		if size == "" {
			if w, h, err = ro.size(info); err != nil {
				return nil, err
			}
		} else {
			// A render's processing size is a multiple of 4, and the
			// end-to-end runs use this session: time both at that size.
			w, h = pipeline.ProcessingSize(w, h, 0, w, h)
		}
		// Refused before decoding where the container's frame count says
		// that many frames will come; counted as they come besides.
		limit := benchMemory / per() // not n*per: that can wrap around
		if c := info.FrameCount; c > 0 && min(c, int64(n)) > limit {
			return nil, tooMany()
		}
		r, err := decode.Open(in, decode.Options{Width: w, Height: h, Deinterlace: ro.deinterlaces(info)})
		if err != nil {
			return nil, err
		}
		for len(frames) < n {
			if int64(len(frames)) >= limit {
				r.Close()
				return nil, tooMany()
			}
			f := frame.New(w, h)
			if err := r.Next(ctx, f); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				r.Close()
				return nil, err
			}
			frames = append(frames, f)
		}
		r.Close()
	} else {
		if int64(n) > benchMemory/per() {
			return nil, tooMany()
		}
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			f := frame.New(w, h)
			for k := range f.In {
				f.In[k] = float32((k*7 + i*13) % 256)
			}
			frames = append(frames, f)
		}
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("bench: no frames")
	}
	t0 := time.Now()
	sess, err := openStyler(ro, model, w, h, false, stderr)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	// A signal stops the network mid-pass (a pass over 60 frames took
	// 10 s to notice one): the pass fails, and so does bench.
	defer context.AfterFunc(ctx, sess.Cancel)()
	openDur := time.Since(t0)
	b := sess.Batch()
	runAll := func() error {
		if err := inferAll(sess, frames); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		return ctx.Err()
	}
	t0 = time.Now()
	if err := runAll(); err != nil { // warm-up (on CUDA: cuDNN's tuning, the arena)
		return nil, err
	}
	firstDur := time.Since(t0)
	// With INPUT, each repeat times the network alone and then the whole
	// pipeline on the same frames, back to back, so a noisy machine slows
	// both alike; the efficiency is the median of the per-repeat ratios.
	var e2eRun func() (float64, int, error)
	var tmode string
	var busy pipeline.Busy // summed over the end-to-end runs
	var busyWall time.Duration
	if in != "" && e2e {
		tmp, err := os.MkdirTemp("", "vidnst-bench-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		eo := *ro
		eo.frames = fmt.Sprintf("0-%d", len(frames)-1)
		eo.styles, eo.quiet, eo.force = nil, true, true
		eo.width, eo.height, eo.maxSide = w, h, 0
		// The input's container where a render would write it (its
		// default codecs differ: .webm gives VP9), else Matroska, which
		// holds what any input brings (a .y4m, .ivf or image input is
		// no output container for H.264).
		ext := strings.ToLower(filepath.Ext(in))
		if !slices.Contains([]string{".mp4", ".m4v", ".mov", ".mkv", ".webm"}, ext) {
			ext = ".mkv"
		}
		out := filepath.Join(tmp, "bench"+ext)
		e2eRun = func() (float64, int, error) {
			j, err := prepare(&eo, in, out, stderr)
			if err != nil {
				return 0, 0, err
			}
			// The warm session, as the inference-only runs use it: the
			// ratio compares steady states; the session's start is
			// reported on its own (OpenSec, FirstPassFPS).
			j.sess = sess
			tmode = eo.temporal
			if w < temporal.MinSize || h < temporal.MinSize {
				tmode = "off" // the render skips the stage at this size
			}
			st, err := j.run(ctx, stderr)
			if err != nil {
				return 0, 0, err
			}
			busy.Add(st.stages.Busy)
			busyWall += st.stages.Wall
			// Model loading is not part of either measurement.
			return float64(st.frames) / st.piped.Seconds(), st.frames, nil
		}
	}
	var fps, e2es, ratios, cpuInf, cpuE2E []float64
	var e2eFrames int
	for i := 0; i < repeats; i++ {
		t0, c0 := time.Now(), cpuTime()
		if err := runAll(); err != nil {
			return nil, err
		}
		fps = append(fps, float64(len(frames))/time.Since(t0).Seconds())
		cpuInf = append(cpuInf, float64((cpuTime()-c0).Milliseconds())/float64(len(frames)))
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e2eRun != nil {
			c0 := cpuTime()
			v, nf, err := e2eRun()
			if err != nil {
				return nil, err
			}
			// includes opening and closing the files: a slight overestimate
			cpuE2E = append(cpuE2E, float64((cpuTime()-c0).Milliseconds())/float64(nf))
			e2es, e2eFrames = append(e2es, v), nf
			ratios = append(ratios, v/fps[len(fps)-1])
		}
	}
	res := &benchResult{Model: models.StyleName(model), Device: sess.Device(), Mend: sess.Mend(), HalfIO: sess.HalfIO(), Width: w, Height: h, Batch: b,
		Threads: threadsUsed(ro.threads), Frames: len(frames), InferenceFPS: median(fps), InferenceCPUms: median(cpuInf),
		OpenSec: openDur.Seconds(), FirstPassFPS: float64(len(frames)) / firstDur.Seconds()}
	if e2eRun == nil {
		return res, nil
	}
	res.EndToEndFPS = median(e2es)
	res.EndToEndFrames = e2eFrames
	res.Efficiency = median(ratios)
	res.EndToEndCPUms = median(cpuE2E)
	res.TemporalMode = tmode
	res.Busy, res.Runners = shares(busy, busyWall), busy.Runners
	return res, nil
}

// cpuTime is the process's user+system CPU time so far (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median of xs (sorted in place; xs not empty).
func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// inferAll runs the network on every frame's In into its Out, in batches.
// With two or more slots it overlaps them as the pipeline does: a loader
// copies batch k+1 in and a storer copies batch k-1 out while the network
// runs batch k (Parallel() batches at once: 2 on CUDA and a multi-core CPU);
// otherwise one Run after another.
func inferAll(sess *stylize.Session, frames []*frame.Frame) error {
	b := sess.Batch()
	batches := make([][2][][]float32, 0, (len(frames)+b-1)/b)
	for i := 0; i < len(frames); i += b {
		var in, out [][]float32
		for _, f := range frames[i:min(i+b, len(frames))] {
			in, out = append(in, f.In), append(out, f.Out)
		}
		batches = append(batches, [2][][]float32{in, out})
	}
	k := sess.Slots()
	if k < 2 {
		for _, bt := range batches {
			if err := sess.Run(bt[0], bt[1]); err != nil {
				return err
			}
		}
		return nil
	}
	type job struct{ slot, batch int }
	free, loaded, done := make(chan int, k), make(chan job, k), make(chan job, k)
	for i := range k {
		free <- i
	}
	var g errgroup.Group
	g.Go(func() error {
		defer close(loaded)
		for i, bt := range batches {
			sl := <-free
			if err := sess.Load(sl, bt[0]); err != nil {
				return err
			}
			loaded <- job{sl, i}
		}
		return nil
	})
	var runners errgroup.Group // Parallel() slots run at once
	for range max(1, sess.Parallel()) {
		runners.Go(func() error {
			for j := range loaded {
				if err := sess.Exec(j.slot); err != nil {
					free <- j.slot
					for j := range loaded { // let the loader finish
						free <- j.slot
					}
					return err
				}
				done <- j
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(done)
		return runners.Wait()
	})
	var err error
	for j := range done {
		if err == nil {
			err = sess.Store(j.slot, batches[j.batch][1])
		}
		free <- j.slot
	}
	return cmp.Or(g.Wait(), err)
}

// threadsUsed is the inference thread count a --threads value gives (0:
// all cores, as stylize.Options.Threads).
func threadsUsed(n int) int {
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}
