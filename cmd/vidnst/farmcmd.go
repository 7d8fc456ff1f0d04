package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/encode"
	"github.com/vidnst/vidnst/internal/farm"
	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/stylize"
)

// Farm defaults (BENCHMARKS.md, Farm): a chunk can only start exactly like
// a continuous render if the temporal state forgets what came before its
// warm-up. In blend mode with weight a the influence of frame t-k is about
// a^k, so plans default to blend at a = 0.8 and the warm-up to the k where
// a^k < 2% (18 frames at 0.8), which measured every boundary frame above
// 40 dB PSNR against a single render with the same settings. The
// single-render default (gradient, a = 1) keeps texture, and the gradient
// mode the low frequencies, for a whole shot: mid-shot seams cannot match.
const (
	farmTemporalMode   = "blend"
	farmTemporalWeight = 0.8
	warmUpResidual     = 0.02
	maxWarmUp          = 250
)

// warmUpFor is the default warm-up for a temporal weight.
func warmUpFor(mode string, a float64) int {
	if mode == "off" || a <= 0 {
		return 0
	}
	if a >= 1 {
		return maxWarmUp
	}
	return min(maxWarmUp, int(math.Ceil(math.Log(warmUpResidual)/math.Log(a))))
}

// settingsOf records the render flags in a plan; changed reports which
// flags were given (where the network runs is recorded when given, even
// as its default: an explicit --device cpu keeps GPU jobs on the CPU).
func settingsOf(o *renderOpts, changed func(flag string) bool) farm.Settings {
	s := farm.Settings{
		Style: o.style, MaxSide: o.maxSide, Codec: o.codec, CRF: o.crf, Preset: o.preset, PixFmt: o.pixFmt,
		TemporalMode: o.temporal, TemporalWeight: o.temporalWeight, FlowPreset: o.flowPreset, Audio: o.audio,
		Extra: map[string]string{},
	}
	put := func(k, v string, def string) {
		if v != def {
			s.Extra[k] = v
		}
	}
	put("width", strconv.Itoa(o.width), "0")
	put("height", strconv.Itoa(o.height), "0")
	put("output-size", o.outputSize, "input")
	put("strength", strconv.FormatFloat(o.strength, 'g', -1, 64), "1")
	put("preserve-color", strconv.FormatBool(o.preserveColor), "false")
	put("models-dir", o.modelsDir, "")
	put("fp16", strconv.FormatBool(o.fp16), "false")
	put("deinterlace", o.deinterlace, "auto")
	// Where the network runs: defaults for the chunk renders, which may set
	// their own (nodes differ).
	for _, f := range []struct{ name, v string }{{"device", o.device}, {"batch", strconv.Itoa(o.batch)}, {"hwaccel", o.hwaccel}} {
		if changed(f.name) {
			s.Extra[f.name] = f.v
		}
	}
	return s
}

// nodeSettings are the plan settings a chunk render's own flags override.
var nodeSettings = map[string]bool{"device": true, "batch": true, "hwaccel": true}

// applySettings sets the render flags from a plan. The settings that shape
// the pixels always come from the plan; for where the network runs
// (nodeSettings) a flag the chunk render was given (changed reports which)
// wins, and the chunk renderer's threads and ort-lib are its own.
func applySettings(o *renderOpts, s farm.Settings, changed func(flag string) bool) error {
	o.style, o.styles = s.Style, nil
	o.maxSide, o.codec, o.crf, o.preset, o.pixFmt = s.MaxSide, s.Codec, s.CRF, s.Preset, s.PixFmt
	o.temporal, o.temporalWeight, o.flowPreset, o.audio = s.TemporalMode, s.TemporalWeight, s.FlowPreset, s.Audio
	var err error
	for k, v := range s.Extra {
		if nodeSettings[k] && changed(k) {
			continue
		}
		switch k {
		case "width":
			o.width, err = strconv.Atoi(v)
		case "height":
			o.height, err = strconv.Atoi(v)
		case "output-size":
			o.outputSize = v
		case "strength":
			o.strength, err = strconv.ParseFloat(v, 64)
		case "preserve-color":
			o.preserveColor, err = strconv.ParseBool(v)
		case "models-dir":
			if o.modelsDir == "" {
				o.modelsDir = v
			}
		case "fp16":
			o.fp16, err = strconv.ParseBool(v)
		case "deinterlace":
			o.deinterlace = v
		case "device":
			o.device = v
			if v == "gpu" { // an alias of cuda in plans made before it was dropped
				o.device = "cuda"
			}
		case "batch":
			o.batch, err = strconv.Atoi(v)
		case "hwaccel":
			o.hwaccel = v
		case "model":
			// The planner's resolved model file: used when the style's name
			// does not resolve here (no $VIDNST_MODEL_DIR on the node).
		default:
			return fmt.Errorf("plan: unknown setting %q (made by a newer vidnst?)", k)
		}
		if err != nil {
			return fmt.Errorf("plan: setting %s=%q: %w", k, v, err)
		}
	}
	if o.width > 0 || o.height > 0 {
		// Plans made before --max-side and --width/--height were refused
		// together: the width and height won then, and still do.
		o.maxSide = 0
	}
	m := s.Extra["model"]
	planners := m != ""
	if planners {
		if st, err := os.Stat(m); err != nil || st.IsDir() {
			planners = false
		}
	}
	local, err := models.Resolve(o.style, models.Dirs(o.modelsDir))
	switch {
	case err != nil && planners:
		// The planner's file, fp16 already when the plan says so.
		o.style, o.fp16 = m, false
	case err == nil && o.fp16 && !models.IsPath(o.style):
		if _, ok := models.FP16(local); ok {
			break
		}
		// An fp16 film is fp16 on every node: the planner's file (its
		// fp16 variant when it had one), never this node's fp32 one.
		if !planners {
			return fmt.Errorf("plan: the plan renders %s in fp16, and this node has no fp16/%s-fp16.onnx beside %s nor the planner's %s", o.style, models.StyleName(local), local, m)
		}
		o.style, o.fp16 = m, false
	}
	return nil
}

func newPlanCmd(stdout, stderr io.Writer) *cobra.Command {
	ro := defaultRenderOpts()
	var chunks, warm int
	var chunkSec float64
	var output, outDir, ext string
	c := &cobra.Command{
		Use:   "plan INPUT --style S [render flags] --chunks N | --chunk-seconds S -o plan.json",
		Short: "Split a render into chunks for a farm (probes the input once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return usagef("plan needs -o plan.json")
			}
			switch {
			case chunks < 0 || (cmd.Flags().Changed("chunks") && chunks == 0):
				return usagef("--chunks %d: want 1 or more", chunks)
			case chunkSec < 0 || (cmd.Flags().Changed("chunk-seconds") && chunkSec == 0) || math.IsNaN(chunkSec) || math.IsInf(chunkSec, 0):
				return usagef("--chunk-seconds %g: want more than 0", chunkSec)
			case (chunks > 0) == (chunkSec > 0):
				return usagef("give --chunks N or --chunk-seconds S (one of them)")
			}
			if len(ro.styles) != 1 {
				return usagef("plan needs one --style")
			}
			if err := notFor(cmd, "plan covers the whole input (cut the input first to farm a part of it)", rangeFlags...); err != nil {
				return err
			}
			ro.style = ro.styles[0]
			if !cmd.Flags().Changed("warm-up") {
				warm = warmUpFor(ro.temporal, ro.temporalWeight)
			}
			if (ro.temporalWeight >= 1 || ro.temporal == "gradient") && ro.temporal != "off" && !ro.quiet {
				fmt.Fprintf(stderr, "vidnst: warning: --temporal %s --temporal-weight %g keeps state for a whole shot: chunks starting mid-shot will not match a single render exactly (%d warm-up frames); blend at 0.8 does\n", ro.temporal, ro.temporalWeight, warm)
			}
			in := args[0]
			if err := outfile.Check(output, ro.force, in); err != nil {
				return err
			}
			// Settings are checked here, not on the farm by every chunk.
			if ext = strings.ToLower(ext); !strings.HasPrefix(ext, ".") {
				ext = "." + ext
			}
			if ext != ".mp4" && ext != ".mov" {
				return usagef("--chunk-ext %s: chunks are .mp4 or .mov (containers that store each packet's decode time, which merge joins on)", ext)
			}
			if warm < 0 {
				return usagef("--warm-up %d: want 0 or more", warm)
			}
			if err := ro.check("chunk" + ext); err != nil {
				return err
			}
			if err := checkEncoder(ro, "chunk"+ext); err != nil {
				return err
			}
			model, err := models.Resolve(ro.style, models.Dirs(ro.modelsDir))
			if err != nil {
				return err
			}
			if _, err := temporalOptions(ro, true); err != nil {
				return err
			}
			info, err := decode.Probe(in)
			if err != nil {
				return err
			}
			x, err := decode.ReadIndex(in)
			if err != nil {
				return err
			}
			if len(x.PTS) == 0 {
				return fmt.Errorf("%s: no video frames", in)
			}
			id, err := farm.NewInput(in, output)
			if err != nil {
				return err
			}
			id.Width, id.Height, id.FrameCount, id.Duration = info.DisplayWidth, info.DisplayHeight, len(x.PTS), info.Duration
			id.FrameRate = farm.Rational{Num: int64(info.FrameRateNum), Den: int64(info.FrameRateDen)}
			id.TimeBase = farm.Rational{Num: int64(info.TimeBaseNum), Den: int64(info.TimeBaseDen)}
			stem := strings.TrimSuffix(filepath.Base(output), filepath.Ext(output))
			var cs []farm.Chunk
			if chunks > 0 {
				cs = farm.Split(len(x.PTS), x.Keyframes(), chunks)
				if len(cs) < chunks && !ro.quiet {
					fmt.Fprintf(stderr, "vidnst: note: --chunks %d: %s has %s, so the plan has %d chunks of one frame\n", chunks, in, count(len(x.PTS), "frame"), len(cs))
				}
			} else {
				cs = farm.SplitSeconds(len(x.PTS), x.Keyframes(), id.FrameRate, chunkSec)
				if len(cs) == len(x.PTS) && len(cs) > 1 && chunkSec*id.FrameRate.Float() < 1 && !ro.quiet {
					fmt.Fprintf(stderr, "vidnst: note: --chunk-seconds %g is shorter than a frame, so the plan has %d chunks of one frame\n", chunkSec, len(cs))
				}
			}
			for i := range cs {
				// Named after the plan, so that two plans in one folder
				// (two styles of a film) do not take each other's chunks.
				cs[i].File = stem + "." + farm.ChunkFileName(i, len(cs), ext)
				pts := x.PTS[cs[i].Start]
				cs[i].StartPTS = &pts
			}
			set := settingsOf(ro, cmd.Flags().Changed)
			if ro.deinterlaces(info) {
				// Recorded as decided here, so every node (an older one
				// too: it refuses the setting) treats the film alike.
				set.Extra["deinterlace"] = "on"
			}
			if ro.fp16 && models.IsPath(ro.style) {
				delete(set.Extra, "fp16") // as a render: the file is used as it is
				if !ro.quiet {
					fmt.Fprintf(stderr, "vidnst: warning: --fp16 picks the fp16 variant of a named style; %s is used as it is\n", ro.style)
				}
			}
			if ro.fp16 && !models.IsPath(ro.style) {
				if p, ok := models.FP16(model); ok {
					model = p // the node that falls back to this path runs fp16 too
				} else {
					// The plan pins one model file: this one, in fp32.
					delete(set.Extra, "fp16")
					if !ro.quiet {
						fmt.Fprintf(stderr, "vidnst: warning: --fp16: no fp16 variant of %s here (fp16/%s-fp16.onnx beside %s); the plan renders %s on every node\n", ro.style, models.StyleName(model), model, model)
					}
				}
			}
			if abs, err := filepath.Abs(model); err == nil {
				set.Extra["model"] = abs
			}
			if set.ModelSHA256, set.Convention, err = modelIdentity(model); err != nil {
				return err
			}
			p := &farm.Plan{Version: 1, Input: id, Settings: set, WarmUp: warm, OutDir: outDir, Chunks: cs}
			if err := p.Save(output); err != nil {
				return err
			}
			if !ro.quiet {
				fmt.Fprintf(stdout, "vidnst: plan of %d chunks over %d frames -> %s\n", len(cs), len(x.PTS), output)
			}
			return nil
		},
	}
	ro.addFlags(c)
	// A plan's own temporal defaults (farmTemporalMode, farmTemporalWeight),
	// in its help too.
	for name, def := range map[string]string{"temporal": farmTemporalMode, "temporal-weight": fmt.Sprint(farmTemporalWeight)} {
		f := c.Flags().Lookup(name)
		if err := f.Value.Set(def); err != nil {
			panic(err) // the constants are valid values
		}
		f.DefValue = def
	}
	hideFlags(c, rangeFlags...) // refused: a plan covers the whole input
	c.Flags().Lookup("force").Usage = "replace an existing plan file (-o)"
	c.Flags().IntVar(&chunks, "chunks", 0, "number of chunks")
	c.Flags().Float64Var(&chunkSec, "chunk-seconds", 0, "chunk length in seconds")
	c.Flags().IntVar(&warm, "warm-up", 0, "frames rendered before each chunk and not written, so temporal state carries over (default: from --temporal-weight, 18 at the farm default 0.8)")
	c.Flags().StringVarP(&output, "output", "o", "", "plan file to write")
	c.Flags().StringVar(&outDir, "out-dir", "", "folder for chunk files, relative to the plan (default: beside it)")
	c.Flags().StringVar(&ext, "chunk-ext", ".mp4", "container of the chunk files")
	return c
}

// renderChunk renders chunk i of a plan (with its warm-up frames) into the
// chunk's file; a chunk already done and valid is skipped.
func renderChunk(ctx context.Context, ro *renderOpts, cf *chunkFlags, changed func(flag string) bool, stdout, stderr io.Writer) error {
	p, err := farm.Load(cf.plan)
	if err != nil {
		return err
	}
	if cf.chunk < 0 || cf.chunk >= len(p.Chunks) {
		return usagef("--chunk %d: the plan has chunks 0-%d", cf.chunk, len(p.Chunks)-1)
	}
	if cf.outDir != "" {
		abs, err := filepath.Abs(cf.outDir)
		if err != nil {
			return err
		}
		p.OutDir = abs
	}
	in := p.InputPath()
	if err := p.CheckInput(in); err != nil {
		return err
	}
	ch := p.Chunks[cf.chunk]
	label := fmt.Sprintf("chunk %d/%d", cf.chunk, len(p.Chunks))
	if farm.IsDone(p, cf.chunk) {
		if !ro.quiet {
			fmt.Fprintf(stdout, "vidnst: %s already done: %s\n", label, p.ChunkPath(cf.chunk))
		}
		return nil
	}
	if err := os.MkdirAll(p.ChunkDir(), 0o755); err != nil {
		return fmt.Errorf("chunk folder: %w", err)
	}
	if err := applySettings(ro, p.Settings, changed); err != nil {
		return err
	}
	ro.force = true // a stale or partial chunk file is replaced (never a done one: checked above)
	ro.audio = "none"
	first := max(0, ch.Start-p.WarmUp)
	ro.frames = fmt.Sprintf("%d-%d", first, ch.End-1)
	out := p.ChunkPath(cf.chunk)
	if err := chunkModel(ro, p, stderr); err != nil {
		return err
	}
	j, err := prepare(ro, in, out, stderr)
	if err != nil {
		return err
	}
	j.warmUp = ch.Start - first
	j.rebase, j.keepTimeline = false, true // chunks keep the input's timeline; merge joins them as they are
	j.noStreams = true
	mode, _ := pipeline.ParseProgress(ro.progress, isTerminal(stderr))
	if ro.quiet {
		mode = pipeline.ProgressNone
	}
	j.progress = pipeline.NewReporter(mode, stderr, ch.Frames())
	j.progress.Label = label
	st, err := j.run(ctx, stderr)
	if err != nil {
		return err
	}
	if st.frames != ch.Frames() {
		os.Remove(out)
		return fmt.Errorf("%s: rendered %d frames, the plan says %d", label, st.frames, ch.Frames())
	}
	if err := farm.MarkDone(p, cf.chunk, st.frames); err != nil {
		return err
	}
	if !ro.quiet {
		fmt.Fprintf(stdout, "vidnst: %s: %d frames (+%d warm-up) in %s -> %s\n", label, st.frames, j.warmUp, st.elapsed.Round(time.Millisecond), out)
	}
	return nil
}

// modelIdentity is what a plan records of a model file: its sha256, and
// how it reads and writes pixels (its sidecar's settings).
func modelIdentity(path string) (sum, convention string, err error) {
	if sum, err = farm.ModelSum(path); err != nil {
		return "", "", err
	}
	c, err := stylize.LoadConvention(path)
	if err != nil {
		return "", "", err
	}
	// What decides the pixels (the tensor names only pick the tensors).
	return sum, fmt.Sprintf("range %s, channels %s", c.Range, c.Channels), nil
}

// chunkModel makes a chunk render use the plan's model: the file this
// node resolves for the style when it is the planner's, byte for byte and
// sidecar alike; else (another file, or one whose sidecar does not read)
// the planner's own file where this node can read it and it still matches
// (a note says so); else the error, wrapping farm.ErrModelChanged where
// the node's file is another.
func chunkModel(ro *renderOpts, p *farm.Plan, stderr io.Writer) error {
	local, err := resolveStyle(ro, ro.style, io.Discard)
	if err != nil {
		return nil // prepare says what is missing
	}
	matches := func(path string) error {
		sum, conv, err := modelIdentity(path)
		if err != nil {
			return err
		}
		return p.CheckModel(path, sum, conv)
	}
	err = matches(local)
	m := p.Settings.Extra["model"]
	if err == nil || m == "" || m == local || matches(m) != nil {
		return err
	}
	if !ro.quiet {
		fmt.Fprintf(stderr, "vidnst: note: this node's %s is not the plan's model; rendering with the planner's %s\n", local, m)
	}
	ro.style, ro.fp16 = m, false
	return nil
}

func newMergeCmd(stdout, stderr io.Writer) *cobra.Command {
	var force, quiet bool
	var wait time.Duration
	c := &cobra.Command{
		Use:   "merge plan.json OUTPUT",
		Short: "Join the rendered chunks without re-encoding and mux the input's audio",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if wait < 0 {
				return usagef("%s %v: want 0 or more", farm.MergeWaitFlag, wait)
			}
			p, err := farm.Load(args[0])
			if err != nil {
				return err
			}
			out := outfile.Target(args[1])
			if err := outfile.Check(out, force, planFiles(p, args[0])...); err != nil {
				return err
			}
			if err := checkMergeOutput(out); err != nil {
				return err
			}
			deadline := time.Now().Add(wait)
			for {
				missing := farm.Missing(p)
				if len(missing) == 0 {
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("merge: %d of %d chunks missing or incomplete: %s", len(missing), len(p.Chunks), intList(missing))
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(min(5*time.Second, time.Until(deadline)+10*time.Millisecond)):
				}
			}
			in := p.InputPath()
			if err := p.CheckInput(in); err != nil {
				return err
			}
			var paths []string
			want := 0
			for i, c := range p.Chunks {
				paths = append(paths, p.ChunkPath(i))
				want += c.Frames()
			}
			info, err := decode.Probe(in)
			if err != nil {
				return err
			}
			t0 := time.Now()
			dropped := 0
			co := encode.ConcatOptions{Path: out, Force: force, Chunks: paths, Input: in, Audio: p.Settings.Audio,
				ShiftSec: max(info.StartSec, 0), DroppedAudio: &dropped, VideoStream: info.Index}
			if tb := p.Input.TimeBase; tb.Num > 0 && tb.Den > 0 {
				// Each chunk at its plan's start (plans from before
				// start_pts are joined as the chunks say).
				for _, c := range p.Chunks {
					if c.StartPTS == nil {
						co.Starts = nil
						break
					}
					co.Starts = append(co.Starts, *c.StartPTS)
				}
				co.StartsTBNum, co.StartsTBDen = int(tb.Num), int(tb.Den)
			}
			n, err := encode.Concat(cmd.Context(), co)
			if err != nil {
				return err
			}
			if !quiet {
				warnDroppedAudio(stderr, dropped)
			}
			if n != want {
				return fmt.Errorf("merge: joined %d frames, the plan has %d", n, want)
			}
			if !quiet {
				fmt.Fprintf(stdout, "vidnst: merged %d chunks (%d frames) in %s -> %s\n", len(paths), n, time.Since(t0).Round(time.Millisecond), out)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&force, "force", "y", false, "overwrite OUTPUT")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only errors")
	c.Flags().DurationVar(&wait, strings.TrimPrefix(farm.MergeWaitFlag, "--"), 0, "wait up to this long for missing chunks (for schedulers without job dependencies)")
	return c
}

// planFiles are the files a merged output must not replace: the plan at
// planPath, its input and its chunks.
func planFiles(p *farm.Plan, planPath string) []string {
	fs := []string{planPath, p.InputPath()}
	for i := range p.Chunks {
		fs = append(fs, p.ChunkPath(i))
	}
	return fs
}

// checkMergeOutput refuses a merged output merge cannot write: it copies
// the chunks' packets with their timestamps into .mp4, .m4v, .mov or .mkv
// (.avi cannot store them; .webm and others refuse the chunks' codecs).
func checkMergeOutput(out string) error {
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return usagef("output %s is a folder", out)
	}
	switch ext := strings.ToLower(filepath.Ext(out)); ext {
	case ".mp4", ".m4v", ".mov", ".mkv":
		return nil
	case ".avi":
		return usagef("merge joins packets with their timestamps, which .avi cannot store: write .mp4, .mkv or .mov")
	default:
		return usagef("merge copies the chunks' packets as they are into .mp4, .m4v, .mov or .mkv, not %q (convert the merged file after)", ext)
	}
}

func intList(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func newFarmCmd(stdout, stderr io.Writer) *cobra.Command {
	c := groupOnly(&cobra.Command{Use: "farm", Short: "Run a plan on Slurm or Kubernetes"})
	var so farm.SlurmOptions
	var planPath, scriptDir string
	var submit, wait, slurmForce bool
	sl := &cobra.Command{
		Use:   "slurm --plan plan.json --output OUT.mp4 [--partition P --gpus-per-task 1 --time T] [--submit [--wait]]",
		Short: "Write (and submit) an sbatch job array for the chunks and a merge job after it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if planPath == "" || so.Output == "" {
				return usagef("farm slurm needs --plan and --output")
			}
			if wait && !submit {
				return usagef("--wait goes with --submit")
			}
			for _, f := range []struct {
				name string
				v    int
			}{{"gpus-per-task", so.GPUsPerTask}, {"cpus-per-task", so.CPUsPerTask}, {"max-parallel", so.MaxParallel}} {
				if f.v < 0 {
					return usagef("--%s %d: want 0 or more", f.name, f.v)
				}
			}
			if err := checkMergeOutput(so.Output); err != nil {
				return err
			}
			p, err := farm.Load(planPath)
			if err != nil {
				return err
			}
			if so.Bin == "" {
				if so.Bin, err = os.Executable(); err != nil {
					return err
				}
			}
			if st, err := os.Stat(so.Bin); err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
				// The nodes may see a path this machine does not; but
				// jobs submitted from here share its file system.
				if submit {
					return usagef("--bin %s is no executable file here: the jobs would fail (give the vidnst the nodes run)", so.Bin)
				}
				fmt.Fprintf(stderr, "vidnst: warning: --bin %s is no executable file here: make sure the nodes have it\n", so.Bin)
			}
			if so.Output, err = filepath.Abs(so.Output); err != nil {
				return err
			}
			// The merge job never replaces a file unless told to (-y):
			// refuse now rather than after the whole render.
			if err := outfile.Check(so.Output, slurmForce, planFiles(p, planPath)...); err != nil {
				return err
			}
			so.Force = slurmForce
			if err := checkRenderArgs(so.RenderArgs); err != nil {
				return err
			}
			arr, mrg, err := farm.SlurmScripts(p, planPath, so)
			if err != nil {
				return err
			}
			if scriptDir == "" {
				scriptDir = p.Dir
			}
			if st, err := os.Stat(scriptDir); err != nil {
				return usagef("script folder %s does not exist", scriptDir)
			} else if !st.IsDir() {
				return usagef("script folder %s is not a folder", scriptDir)
			}
			ap, mp := filepath.Join(scriptDir, "vidnst-render.sbatch"), filepath.Join(scriptDir, "vidnst-merge.sbatch")
			for _, p := range []string{ap, mp} {
				// Scripts an earlier farm slurm wrote are replaced; any
				// other file only with -y.
				if b, err := os.ReadFile(p); err == nil && !slurmForce && !strings.Contains(string(b), "# Generated by vidnst") {
					return usagef("%s exists and was not written by vidnst (use -y/--force to overwrite)", p)
				}
			}
			for _, sc := range []struct{ path, text string }{{ap, arr}, {mp, mrg}} {
				if err := farm.WriteFileAtomic(sc.path, []byte(sc.text), 0o777); err != nil {
					return err
				}
				// A replaced script keeps its mode, but stays a script: x
				// wherever r is.
				if st, err := os.Stat(sc.path); err == nil && st.Mode().Perm()&0o100 == 0 {
					m := st.Mode().Perm()
					os.Chmod(sc.path, m|(m&0o444)>>2)
				}
			}
			fmt.Fprintf(stdout, "vidnst: wrote %s and %s\n", ap, mp)
			if !submit {
				return nil
			}
			ctx := cmd.Context()
			aid, mid, err := farm.Submit(ctx, arr, mrg)
			if err != nil {
				if ctx.Err() != nil && aid != "" {
					// Between the two sbatch calls: say what runs.
					return &keptError{err: ctx.Err(), kept: fmt.Sprintf("render array %s was submitted and keeps running, its merge job was not (scancel %s stops it; farm slurm --submit again renders what is missing and merges)", aid, aid)}
				}
				return err
			}
			fmt.Fprintf(stdout, "vidnst: submitted render array %s (%d tasks) and merge %s\n", aid, len(p.Chunks), mid)
			if !wait {
				return nil
			}
			t0 := time.Now()
			if err := farm.Wait(ctx, aid, mid); err != nil {
				if ctx.Err() != nil {
					// Only the waiting ends: the jobs are the cluster's.
					return &keptError{err: ctx.Err(), kept: fmt.Sprintf("render array %s and merge %s keep running (scancel %s %s stops them)", aid, mid, aid, mid)}
				}
				var je *farm.JobsError
				if errors.As(err, &je) && len(je.FailedTasks()) > 0 {
					return fmt.Errorf("%w; run the same farm slurm --submit again: it renders chunks %s (done ones are skipped) and merges after them", err, intList(je.FailedTasks()))
				}
				return err
			}
			fmt.Fprintf(stdout, "vidnst: farm render done in %s -> %s\n", time.Since(t0).Round(time.Second), so.Output)
			return nil
		},
	}
	f := sl.Flags()
	f.StringVar(&planPath, "plan", "", "plan file")
	f.StringVar(&so.Output, "output", "", "merged output")
	f.StringVar(&so.Bin, "bin", "", "vidnst binary the jobs run (default: this one)")
	f.StringVar(&so.Partition, "partition", "", "Slurm partition")
	f.IntVar(&so.GPUsPerTask, "gpus-per-task", 0, "GPUs per render task; the chunks then render with --device cuda unless the plan or --render-arg names a device")
	f.IntVar(&so.CPUsPerTask, "cpus-per-task", 0, "CPUs per render task")
	f.StringVar(&so.Time, "time", "", "time limit of each render task")
	f.IntVar(&so.MaxParallel, "max-parallel", 0, "at most this many render tasks at once")
	f.StringVar(&so.JobName, "job-name", "vidnst", "job name prefix")
	f.StringArrayVar(&so.RenderArgs, "render-arg", nil, "extra argument for each chunk's render (repeatable), e.g. --render-arg=--threads --render-arg=1")
	f.StringVar(&scriptDir, "script-dir", "", "where to write the sbatch scripts (default: beside the plan)")
	f.BoolVar(&submit, "submit", false, "submit the jobs with sbatch")
	f.BoolVarP(&slurmForce, "force", "y", false, "replace an existing --output (the merge job gets -y) and script files vidnst did not write")
	f.BoolVar(&wait, "wait", false, "with --submit: wait for the merge and report failures")

	var ko farm.K8sOptions
	var out string
	var gpu int
	var renderArgs []string
	var force bool
	k := &cobra.Command{
		Use:   "k8s --plan plan.json --image IMG --pvc NAME [-m jobs.yaml]",
		Short: "Write a Kubernetes Indexed Job for the chunks and a merge Job",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if planPath == "" || ko.Image == "" || ko.PVC == "" {
				return usagef("farm k8s needs --plan, --image and --pvc")
			}
			p, err := farm.Load(planPath)
			if err != nil {
				return err
			}
			for _, f := range []struct {
				name string
				v    int
			}{{"parallelism", int(ko.Parallelism)}, {"gpus", gpu}, {"backoff-limit-per-index", int(ko.BackoffLimitPerIndex)}} {
				if f.v < 0 {
					return usagef("--%s %d: want 0 or more", f.name, f.v)
				}
			}
			if err := checkMergeOutput(ko.Output); err != nil {
				return err
			}
			if err := checkRenderArgs(renderArgs); err != nil {
				return err
			}
			ko.Resources.GPU = gpu
			ko.RenderArgs = renderArgs
			y, err := farm.K8sManifests(p, planPath, ko)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = stdout.Write(y)
				return err
			}
			if err := outfile.Check(out, force, planPath, p.InputPath()); err != nil {
				return err
			}
			if err := farm.WriteFileAtomic(out, y, 0o666); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "vidnst: wrote %s (kubectl apply -f %s)\n", out, out)
			return nil
		},
	}
	kf := k.Flags()
	kf.StringVar(&planPath, "plan", "", "plan file (it, the input and the chunks live on the PVC)")
	kf.StringVar(&ko.Image, "image", "", "container image with vidnst")
	kf.StringVar(&ko.PVC, "pvc", "", "PersistentVolumeClaim holding the plan, input and chunks")
	kf.StringVar(&ko.MountPath, "mount-path", farm.DefaultMountPath, "where the PVC is mounted in the pods")
	kf.StringVar(&ko.PlanSubPath, "plan-subpath", "", "the plan's path inside the volume (default: its file name)")
	kf.StringVar(&ko.Output, "output", "output.mp4", "merged output, relative to the mount path")
	kf.StringVar(&ko.Name, "name", "vidnst", "Job name prefix")
	kf.StringVar(&ko.Namespace, "namespace", "", "namespace")
	kf.Int32Var(&ko.Parallelism, "parallelism", 0, "render pods at once (default: one per chunk)")
	kf.Int32Var(&ko.BackoffLimitPerIndex, "backoff-limit-per-index", 2, "retries of one chunk")
	kf.IntVar(&gpu, "gpus", 0, "GPUs per render pod (nvidia.com/gpu); the chunks then render with --device cuda unless the plan or --render-arg names a device")
	kf.StringArrayVar(&renderArgs, "render-arg", nil, "extra argument for each chunk's render (repeatable), e.g. --render-arg=--threads --render-arg=4")
	kf.StringVar(&ko.Resources.CPU, "cpu", "", "CPU request/limit per render pod")
	kf.StringVar(&ko.Resources.Memory, "memory", "", "memory request/limit per render pod")
	kf.StringVarP(&out, "manifest", "m", "", "write the manifests here (default: stdout)")
	kf.BoolVarP(&force, "force", "y", false, "overwrite the manifest file if it exists")
	c.AddCommand(sl, k)
	return c
}
