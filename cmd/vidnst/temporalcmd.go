package main

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/temporal"
)

// Defaults chosen from the measurements in BENCHMARKS.md (Temporal): full
// trust in the warped previous output where the flow is confident keeps the
// style's detail (averaging two unaligned textures blurs it), and the
// gradient-domain combine gives the lowest warping error.
const (
	defaultTemporal       = "gradient"
	defaultTemporalWeight = 1.0
)

// temporalStage is what the pipeline needs of temporal/.
type temporalStage interface {
	pipeline.Temporal
	AuxLen() int
	Close() // stops the stage's worker goroutines
}

// temporalWorkers: with the network on the CPU the flow runs beside it,
// which takes the cores, and half of them is the measured sweet spot; with
// the network on a GPU the temporal stage is the CPU's main work and gets
// them all.
func temporalWorkers(networkOnCPU bool) int {
	if networkOnCPU {
		return max(1, runtime.GOMAXPROCS(0)/2)
	}
	return runtime.GOMAXPROCS(0)
}

// temporalFlags checks --temporal, --flow-preset and --temporal-weight,
// all three also with the stage off (a typo is a typo), as usage errors.
func temporalFlags(o *renderOpts) (temporal.Mode, temporal.Preset, error) {
	mode, err := temporal.ParseMode(o.temporal)
	if err != nil {
		return 0, 0, usagef("--temporal %q: want off, blend or gradient", o.temporal)
	}
	preset, err := temporal.ParsePreset(o.flowPreset)
	if err != nil {
		return 0, 0, usagef("--flow-preset %q: want fast or medium", o.flowPreset)
	}
	if !(o.temporalWeight >= 0 && o.temporalWeight <= 1) { // NaN too
		return 0, 0, usagef("--temporal-weight %g: want 0..1", o.temporalWeight)
	}
	return mode, preset, nil
}

// temporalOptions checks the temporal flags and turns them into the
// stage's options (Mode Off when off) for a network on the CPU or not.
// VIDNST_LANES=N (for A/B measurements) sets the stage's lanes.
func temporalOptions(o *renderOpts, networkOnCPU bool) (temporal.Options, error) {
	mode, preset, err := temporalFlags(o)
	if err != nil {
		return temporal.Options{}, err
	}
	if mode == temporal.Off || o.temporalWeight == 0 { // weight 0: nothing of the previous output is kept
		return temporal.Options{Mode: temporal.Off}, nil
	}
	opt := temporal.Options{Mode: mode, Weight: float32(o.temporalWeight), Preset: preset, Workers: temporalWorkers(networkOnCPU)}
	if v := os.Getenv("VIDNST_LANES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > opt.Workers {
			return temporal.Options{}, fmt.Errorf("VIDNST_LANES=%q: want 1..%d (the temporal workers)", v, opt.Workers)
		}
		opt.Lanes = n
	}
	return opt, nil
}

// newTemporal builds the temporal stage for the flags (nil when off). A
// frame too small for optical flow (under 16 px on a side) is rendered
// without it, with a warning on stderr.
func newTemporal(o *renderOpts, w, h int, networkOnCPU bool, stderr io.Writer) (temporalStage, error) {
	opt, err := temporalOptions(o, networkOnCPU)
	if err != nil || opt.Mode == temporal.Off {
		return nil, err
	}
	if w < temporal.MinSize || h < temporal.MinSize {
		if !o.quiet {
			fmt.Fprintf(stderr, "vidnst: warning: frames of %dx%d are too small for the temporal stage (%d px on a side at least): rendered without it\n", w, h, temporal.MinSize)
		}
		return nil, nil
	}
	st, err := temporal.NewStage(w, h, opt)
	if err != nil {
		return nil, err // no nil *Stage inside a non-nil interface
	}
	return st, nil
}

func newFlowCmd(stdout, stderr io.Writer) *cobra.Command {
	var out, preset string
	var force, quiet bool
	c := &cobra.Command{
		Use:   "flow A.png B.png -o flow.flo|flow.png",
		Short: "Dense optical flow from image A to image B (Middlebury .flo, or a colour-wheel picture)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("flow needs -o flow.flo or -o flow.png")
			}
			ext := strings.ToLower(filepath.Ext(out))
			if ext != ".flo" && ext != ".png" {
				return usagef("-o %s: write .flo or .png", out)
			}
			p, err := temporal.ParsePreset(preset)
			if err != nil {
				return usagef("%v", err)
			}
			if err := outfile.Check(out, force, args...); err != nil {
				return err
			}
			a, err := grayImage(cmd.Context(), args[0], 0, 0)
			if err != nil {
				return err
			}
			b, err := grayImage(cmd.Context(), args[1], a.W, a.H)
			if err != nil {
				return err
			}
			w, h := a.W, a.H
			if w < temporal.MinSize || h < temporal.MinSize {
				return fmt.Errorf("flow: the images are %dx%d, too small for optical flow (%d px on a side at least)", w, h, temporal.MinSize)
			}
			est := temporal.NewEstimator(w, h, p, 0)
			defer est.Close()
			u, v := make([]float32, w*h), make([]float32, w*h)
			est.Compute(a.In[:w*h], b.In[:w*h], u, v)
			ctx := cmd.Context()
			if err := ctx.Err(); err != nil { // a signal while the flow was computed
				return err
			}
			err = outfile.WriteContext(ctx, out, force, func(f io.Writer) error {
				if ext == ".flo" {
					return temporal.WriteFlo(f, u, v, w, h)
				}
				return png.Encode(f, temporal.FlowImage(u, v, w, h, 0))
			})
			if err != nil && errors.Is(err, ctx.Err()) {
				return err // stopped: nothing put in place
			}
			if err != nil {
				return fmt.Errorf("flow: write %s: %w", out, err)
			}
			if !quiet {
				fmt.Fprintf(stdout, "vidnst: flow %dx%d (%s) -> %s\n", w, h, p, out)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "flow.flo (Middlebury) or flow.png (colour wheel)")
	c.Flags().StringVar(&preset, "flow-preset", "medium", "fast or medium")
	c.Flags().BoolVarP(&force, "force", "y", false, "overwrite the output if it exists")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only errors")
	return c
}

// grayImage decodes an image (any format FFmpeg reads) at its own size, or
// at w x h if given, and puts its luminance (0..255) in the first plane of
// f.In.
func grayImage(ctx context.Context, path string, w, h int) (*frame.Frame, error) {
	info, err := decode.Probe(path)
	if err != nil {
		return nil, err
	}
	if w == 0 {
		w, h = info.DisplayWidth, info.DisplayHeight
	} else if info.DisplayWidth != w || info.DisplayHeight != h {
		return nil, fmt.Errorf("flow: %s is %dx%d, the first image %dx%d", path, info.DisplayWidth, info.DisplayHeight, w, h)
	}
	r, err := decode.Open(path, decode.Options{Width: w, Height: h})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f := frame.New(w, h)
	if err := r.Next(ctx, f); err != nil {
		return nil, fmt.Errorf("flow: %s: %w", path, err)
	}
	g := make([]float32, w*h)
	temporal.Gray(g, f.In, w, h)
	copy(f.In, g)
	return f, nil
}

func newEvalCmd(stdout, stderr io.Writer) *cobra.Command {
	c := groupOnly(&cobra.Command{Use: "eval", Short: "Measure outputs"})
	var size string
	var frames, from int
	t := &cobra.Command{
		Use:   "temporal INPUT OUTPUT",
		Short: "Warping error (flow from INPUT's frames) and mean gradient magnitude of OUTPUT",
		Long: `E_warp = mean over t of sum_p M(p)*||O_t(p) - warp(O_{t-1})(p)||^2 / sum_p M(p),
colours in [0,1], flow computed on the input frames, M = non-occluded pixels
(Lai et al. 2018). Both videos are decoded at --size (default: OUTPUT's size,
at most 384 pixels on the longer side). OUTPUT's frame i is compared with
INPUT's frame --from + i: give --from A for a render of --frames A-B.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from < 0 {
				return usagef("--from %d: want 0 or more", from)
			}
			if frames < 0 || frames == 1 {
				return usagef("--frames %d: want 2 or more (0: all)", frames)
			}
			res, err := evalTemporal(cmd.Context(), args[0], args[1], size, frames, from)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "E_warp %.6f  gradient %.6f  pairs %d  size %dx%d\n", res.ewarp, res.grad, res.pairs, res.w, res.h)
			if res.shortOut && !cmd.Flags().Changed("from") { // --from 0 says where OUTPUT starts too
				fmt.Fprintf(stderr, "vidnst: note: %s ends before %s: its %s were compared with %s's first; for a render of --frames A-B give --from A\n", args[1], args[0], count(res.pairs+1, "frame"), args[0])
			}
			return nil
		},
	}
	t.Flags().StringVar(&size, "size", "", "decode both at WxH")
	t.Flags().IntVar(&frames, "frames", 0, "only the first N frames, a count (0 = all)")
	t.Flags().IntVar(&from, "from", 0, "the INPUT frame OUTPUT starts at (a range render)")
	c.AddCommand(t)
	return c
}

type evalResult struct {
	ewarp, grad float64
	pairs, w, h int
	// shortOut: OUTPUT ended before INPUT (with neither --frames nor
	// --from given, maybe a range render compared from the wrong frame).
	shortOut bool
}

// evalInput is how eval decodes INPUT at w x h: the flow of an interlaced
// input is taken between deinterlaced frames, as a render sees them by
// default.
func evalInput(ii *decode.Info, w, h int) decode.Options {
	return decode.Options{Width: w, Height: h, Deinterlace: ii.Interlaced()}
}

func evalTemporal(ctx context.Context, in, out, size string, n, from int) (*evalResult, error) {
	oi, err := decode.Probe(out)
	if err != nil {
		return nil, err
	}
	w, h := pipeline.ProcessingSize(oi.SquareWidth, oi.SquareHeight, 384, 0, 0)
	if size != "" {
		if w, h, err = parseSize(size); err != nil {
			return nil, err
		}
		if w < temporal.MinSize || h < temporal.MinSize {
			return nil, usagef("--size %s: too small for optical flow (%d px on a side at least)", size, temporal.MinSize)
		}
	} else if w < temporal.MinSize || h < temporal.MinSize {
		return nil, fmt.Errorf("eval: %s is %dx%d, too small for optical flow (%d px on a side at least)", out, oi.DisplayWidth, oi.DisplayHeight, temporal.MinSize)
	}
	ii, err := decode.Probe(in)
	if err != nil {
		return nil, err
	}
	ri, err := decode.Open(in, evalInput(ii, w, h))
	if err != nil {
		return nil, err
	}
	defer ri.Close()
	ia := float64(ii.DisplayWidth) / float64(ii.DisplayHeight)
	// A render at the processing size rounds each side to a multiple of 4
	// (768x432 at --max-side 32: 32x20): a few pixels either way.
	ow, oh := float64(oi.DisplayWidth), float64(oi.DisplayHeight)
	if math.Abs(ow-oh*ia) > 4+0.02*ow && math.Abs(oh-ow/ia) > 4+0.02*oh {
		return nil, fmt.Errorf("eval: %s is %dx%d and %s %dx%d: not a render of it", in, ii.DisplayWidth, ii.DisplayHeight, out, oi.DisplayWidth, oi.DisplayHeight)
	}
	ro, err := decode.Open(out, decode.Options{Width: w, Height: h})
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	m := temporal.NewWarpError(w, h, 0)
	defer m.Close()
	prev, cur := frame.New(w, h), frame.New(w, h)
	for i := range from {
		if err := ri.Next(ctx, cur); errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("eval: --from %d: %s has %s: %w", from, in, count(i, "frame"), decode.ErrOutOfRange)
		} else if err != nil {
			return nil, err
		}
	}
	res := &evalResult{w: w, h: h}
	gsum, k := 0.0, 0
	for ; n <= 0 || k < n; k++ {
		e1, e2 := ri.Next(ctx, cur), ro.Next(ctx, &frame.Frame{W: w, H: h, In: cur.Out})
		// The output may be a range from the input's start; an output
		// that goes on after the input ends is not a render of it.
		if errors.Is(e1, io.EOF) && k == 0 && from > 0 {
			// --from at the very end: no frame left to compare.
			return nil, fmt.Errorf("eval: --from %d: %s has %s: %w", from, in, count(from, "frame"), decode.ErrOutOfRange)
		}
		if errors.Is(e1, io.EOF) && !errors.Is(e2, io.EOF) && n <= 0 {
			return nil, fmt.Errorf("eval: %s ends after %d frames and %s goes on: not a render of it (give --frames N to compare the first N)", in, k, out)
		}
		if errors.Is(e1, io.EOF) || errors.Is(e2, io.EOF) {
			res.shortOut = !errors.Is(e1, io.EOF) && n <= 0 && from == 0
			break
		}
		if e1 != nil {
			return nil, e1
		}
		if e2 != nil {
			return nil, e2
		}
		gsum += temporal.GradientMean(cur.Out, w, h)
		if k > 0 {
			m.Add(prev.In, cur.In, prev.Out, cur.Out)
		}
		prev, cur = cur, prev
	}
	if k < 2 {
		return nil, fmt.Errorf("eval: need at least 2 frames, got %d", k)
	}
	res.ewarp, res.grad, res.pairs = m.Mean(), gsum/float64(k), m.Pairs()
	return res, nil
}
