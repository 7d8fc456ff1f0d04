package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/encode"
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/stylize"
)

// renderOpts are the render flags; built from flags so tests can fill them
// directly.
type renderOpts struct {
	styles     []string // --style, repeatable where a command takes several
	style      string   // the one style of a render
	modelsDir  string
	maxSide    int
	width      int
	height     int
	outputSize string // input | processing

	codec, preset, pixFmt string
	crf                   int
	audio                 string
	force                 bool

	ortLib  string
	threads int
	device  string
	hwaccel string
	// deinterlace: auto (when the input says it is interlaced), on or off.
	deinterlace string
	batch       int
	fp16        bool
	// fp16Picked: --fp16 found the style's fp16 variant (set by
	// resolveStyle; sayDevice warns when --device auto then runs it on
	// the CPU).
	fp16Picked bool
	// fp16Spare: the named style whose fp16 variant exists but --fp16 was
	// not given (set by resolveStyle; fp16Note suggests it once, on a GPU).
	fp16Spare string
	fp16Noted bool

	quiet    bool
	progress string

	temporal       string
	temporalWeight float64
	flowPreset     string

	start, end, duration, frames string

	strength      float64
	preserveColor bool
}

func defaultRenderOpts() *renderOpts {
	return &renderOpts{
		outputSize:     "input",
		crf:            -1,
		audio:          "copy",
		device:         "cpu",
		batch:          0,
		progress:       "auto",
		temporal:       defaultTemporal,
		temporalWeight: defaultTemporalWeight,
		flowPreset:     "fast",
		strength:       1,
		deinterlace:    "auto",
	}
}

func (o *renderOpts) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVarP(&o.styles, "style", "s", nil, "style model: a name (NAME.onnx in --models-dir, $VIDNST_MODEL_DIR or ~/.cache/vidnst/models) or a .onnx path")
	f.StringVar(&o.modelsDir, "models-dir", o.modelsDir, "folder of style models (default $VIDNST_MODEL_DIR)")
	f.IntVar(&o.maxSide, "max-side", o.maxSide, "run the network with the longer side at most N pixels (default: the input size)")
	f.IntVar(&o.width, "width", o.width, "network width (height follows the aspect ratio unless --height is given)")
	f.IntVar(&o.height, "height", o.height, "network height")
	f.StringVar(&o.outputSize, "output-size", o.outputSize, "output size: input (upscale back to the input's size) or processing")
	f.StringVar(&o.codec, "codec", o.codec, "video encoder (default libx264; libvpx-vp9 for .webm)")
	f.Var(unsetInt{&o.crf}, "crf", "constant rate factor (default 18 for x264/x265, 32 for VP9, 30 for AV1)")
	f.StringVar(&o.preset, "preset", o.preset, "encoder preset (default medium for x264/x265)")
	f.StringVar(&o.pixFmt, "pix-fmt", o.pixFmt, "output pixel format (default yuv420p)")
	f.StringVar(&o.audio, "audio", o.audio, "audio: copy (transcode if the container cannot hold it), none, aac or opus")
	f.BoolVarP(&o.force, "force", "y", o.force, "overwrite OUTPUT if it exists")
	f.StringVar(&o.ortLib, "ort-lib", o.ortLib, "path of libonnxruntime.so (overrides $ONNXRUNTIME_SHARED_LIBRARY_PATH)")
	f.IntVar(&o.threads, "threads", o.threads, "inference threads (0 = all cores)")
	f.StringVar(&o.device, "device", o.device, "inference device: cpu, cuda[:N] or auto")
	f.IntVar(&o.batch, "batch", o.batch, "frames per inference call (0: the model's fixed batch, else 1; on a GPU with --temporal off try 4)")
	f.StringVar(&o.hwaccel, "hwaccel", o.hwaccel, "hardware decoding: cuda (NVDEC) or none")
	f.StringVar(&o.deinterlace, "deinterlace", o.deinterlace, "deinterlace with FFmpeg's bwdif before stylizing: auto (when the input says it is interlaced), on or off")
	f.BoolVar(&o.fp16, "fp16", o.fp16, "use the fp16 variant of a named style (fp16/NAME-fp16.onnx) when present")
	f.BoolVarP(&o.quiet, "quiet", "q", o.quiet, "print only errors")
	f.StringVar(&o.progress, "progress", o.progress, "progress display: auto, bar, lines, json or none")
	f.StringVar(&o.temporal, "temporal", o.temporal, "temporal consistency: off, blend or gradient")
	f.Float64Var(&o.temporalWeight, "temporal-weight", o.temporalWeight, "how strongly the warped previous output is kept (0..1; 0 is the same as --temporal off)")
	f.StringVar(&o.flowPreset, "flow-preset", o.flowPreset, "optical flow preset: fast or medium")
	f.StringVar(&o.start, "start", o.start, "first frame to render: seconds, hh:mm:ss.mmm, or Nf for frame N")
	f.StringVar(&o.end, "end", o.end, "render up to (not including) this time or frame")
	f.StringVar(&o.duration, "duration", o.duration, "render this long (seconds, hh:mm:ss.mmm, or Nf frames)")
	f.StringVar(&o.frames, "frames", o.frames, "inclusive 0-based frame range A-B")
	f.Float64Var(&o.strength, "strength", o.strength, "blend of the stylized and original frame (1 = full style)")
	f.BoolVar(&o.preserveColor, "preserve-color", o.preserveColor, "keep the input's colours, take luminance from the style")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// job is everything one render needs, resolved from the flags.
type job struct {
	o       *renderOpts
	in, out string
	model   string
	info    *decode.Info
	w, h    int // processing size
	ow, oh  int // output size
	rng     frameRange
	deint   bool // frames are deinterlaced (o.deinterlace for this input)
	warmUp  int  // frames rendered before the range and not written
	rebase  bool
	// keepTimeline writes the input's timestamps as they are (farm
	// chunks: merge shifts the joined file to start at 0).
	keepTimeline bool
	gop          int
	progress     *pipeline.Reporter
	// noStreams: video only (farm chunks: audio is muxed at merge).
	noStreams bool
	// sideBySide writes the original and the stylized frame next to each
	// other (ow = 2*w).
	sideBySide bool
	// sess, when set, is an open session at the processing size that run
	// uses instead of opening one (bench: the session its inference-only
	// runs warmed up). The caller owns it and closes it after run.
	sess *stylize.Session
}

// prepare checks everything that can be checked before any work: paths,
// model, input, sizes. Nothing is written.
func prepare(o *renderOpts, in, out string, stderr io.Writer) (*job, error) {
	switch {
	case len(o.styles) > 1:
		return nil, usagef("give one --style (vidnst preview compares several)")
	case len(o.styles) == 1:
		o.style = o.styles[0]
	}
	out = outfile.Target(out) // -y through a symbolic link updates its file
	if err := outfile.Check(out, o.force, in); err != nil {
		return nil, err
	}
	if o.outputSize != "input" && o.outputSize != "processing" {
		return nil, usagef("--output-size %q: want input or processing", o.outputSize)
	}
	if err := o.check(out); err != nil {
		return nil, err
	}
	if _, err := pipeline.ParseProgress(o.progress, false); err != nil {
		return nil, usagef("%v", err)
	}
	if !pipeline.IsImagePath(out) {
		if err := checkEncoder(o, out); err != nil {
			return nil, err // before the model loads and frames decode
		}
	}
	if err := checkWritable(filepath.Dir(out)); err != nil {
		return nil, err
	}
	model, err := resolveStyle(o, o.style, stderr)
	if err != nil {
		return nil, err
	}
	info, err := decode.Probe(in)
	if err != nil {
		return nil, err
	}
	j := &job{o: o, in: in, out: out, model: model, info: info}
	if j.w, j.h, err = o.size(info); err != nil {
		return nil, err
	}
	j.ow, j.oh = outSize(info, j.w, j.h, o.outputSize, pipeline.IsImagePath(out))
	j.deint = o.deinterlaces(info)
	if j.rng, err = resolveRange(o, in, info); err != nil {
		return nil, err
	}
	// A range starts at 0 with its audio cut to it, also from frame 0 when
	// the video starts after 0 (a lead of audio, MPEG-TS). Not below 0: an
	// MP4 cut with an edit list indexes frames before its start.
	j.rebase = j.rng.set && j.rng.startPTS > 0
	if !o.quiet {
		inputNotes(in, info, pipeline.IsImagePath(out), j.deint, stderr)
	}
	return j, nil
}

// deinterlaces reports whether frames of info are deinterlaced under
// --deinterlace.
func (o *renderOpts) deinterlaces(info *decode.Info) bool {
	return o.deinterlace == "on" || (o.deinterlace == "auto" && info.Interlaced())
}

// outSize is the size a render of info at the processing size w x h
// writes: with --output-size processing w x h, else the input's, in stored
// pixels for a video (which keeps the input's SAR) and in square ones for
// a still (an image has square pixels).
func outSize(info *decode.Info, w, h int, outputSize string, still bool) (int, int) {
	switch {
	case outputSize == "processing":
		return w, h
	case still:
		return info.SquareWidth, info.SquareHeight
	}
	return info.DisplayWidth, info.DisplayHeight
}

// transparentNote is the note for an input whose first frame is partly
// transparent.
func transparentNote(in string) string {
	return fmt.Sprintf("vidnst: note: %s is partly transparent: vidnst stylizes the colours under its alpha (also where it is fully transparent) and writes no transparency", in)
}

// inputNotes says on stderr what vidnst does not carry over from the
// input's video as it is: HDR, more than 8 bits, interlacing (deint: the
// frames are deinterlaced), other video streams.
func inputNotes(in string, info *decode.Info, still, deint bool, stderr io.Writer) {
	switch {
	case info.HDR():
		what := map[string]string{"smpte2084": "PQ", "arib-std-b67": "HLG"}[info.Transfer]
		fmt.Fprintf(stderr, "vidnst: warning: %s is HDR (%s): the style networks are made for SDR pictures and vidnst works in 8 bits per channel, so the %s keeps the HDR tags but its colours will look off and gradients may band; convert to SDR first for an SDR result (FFmpeg's zscale and tonemap filters)\n", in, what, map[bool]string{true: "still", false: "output"}[still])
	case info.BitDepth > 8:
		fmt.Fprintf(stderr, "vidnst: note: %s is %d-bit: vidnst works in 8 bits per channel, so the output has 8 bits of precision (whatever --pix-fmt)\n", in, info.BitDepth)
	}
	if info.Interlaced() && !still {
		top, _ := info.TopFirst()
		order := map[bool]string{true: "top field first", false: "bottom field first"}[top]
		if deint {
			fmt.Fprintf(stderr, "vidnst: note: %s is interlaced (%s): deinterlacing it (FFmpeg's bwdif, one frame per frame) and writing progressive video; --deinterlace off stylizes the fields as they are\n", in, order)
		} else {
			fmt.Fprintf(stderr, "vidnst: warning: %s is interlaced (%s): with --deinterlace off vidnst stylizes whole frames, fields and combing together, and writes progressive video\n", in, order)
		}
	}
	if info.Covers > 0 && !still {
		fmt.Fprintf(stderr, "vidnst: note: %s has cover art (%s): it is left out\n", in, count(info.Covers, "picture"))
	}
	if info.OtherVideo > 0 {
		fmt.Fprintf(stderr, "vidnst: note: %s has %s besides stream %d: only stream %d is stylized, the others are left out\n", in, count(info.OtherVideo, "more video stream"), info.Index, info.Index)
	}
}

// unsetInt is an int flag whose -1 means "not given": its help shows no
// "(default -1)" (the help text says what the default is).
type unsetInt struct{ p *int }

func (u unsetInt) String() string {
	if u.p == nil || *u.p < 0 {
		return ""
	}
	return strconv.Itoa(*u.p)
}

func (u unsetInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*u.p = v
	return nil
}

func (u unsetInt) Type() string { return "int" }

// warnDroppedAudio says that n audio packets overlapping earlier ones
// were left out (encode.Writer.DroppedAudio).
func warnDroppedAudio(stderr io.Writer, n int) {
	if n > 0 {
		fmt.Fprintf(stderr, "vidnst: warning: %d audio packets that started before the one before them were left out (joined recordings?)\n", n)
	}
}

// Size limits: the network and the temporal stage hold several float32
// copies of each frame in flight (hundreds of MB at 8K already).
const (
	maxProcessingSide = 8192
	maxOutputSide     = 16384
	maxBatch          = 64 // beyond 8 nothing got faster on an H100/H200
	// maxThreads: ONNX Runtime makes that many threads at once, and one
	// it cannot make aborts the process from C++ (--threads 100000 hung
	// after "terminate called"); 1024 covers the largest servers.
	maxThreads = 1024
	// bigOnCPU: above this many pixels a CPU render at the input's size
	// gets a note on --max-side (1080p and up).
	bigOnCPU = 1920 * 1000
)

// x264Presets are the presets libx264 and libx265 know.
var x264Presets = map[string]bool{"ultrafast": true, "superfast": true, "veryfast": true, "faster": true, "fast": true, "medium": true, "slow": true, "slower": true, "veryslow": true, "placebo": true}

// check refuses flag values no command can use, as usage errors; the
// range and output checks are prepare's. out is the output path, if the
// command writes a video (its extension picks the default codec).
func (o *renderOpts) check(out string) error {
	// The temporal flags, before anything is opened.
	if _, _, err := temporalFlags(o); err != nil {
		return err
	}
	switch {
	case !(o.strength >= 0 && o.strength <= 1): // NaN too
		return usagef("--strength %g: want 0..1", o.strength)
	case o.batch < 0 || o.batch > maxBatch:
		return usagef("--batch %d: want 0 (automatic) to %d", o.batch, maxBatch)
	case o.threads < 0 || o.threads > maxThreads:
		return usagef("--threads %d: want 0 (all cores) to %d", o.threads, maxThreads)
	case o.hwaccel != "" && o.hwaccel != "none" && o.hwaccel != "cuda":
		return usagef("--hwaccel %q: want cuda or none", o.hwaccel)
	case o.deinterlace != "auto" && o.deinterlace != "on" && o.deinterlace != "off":
		return usagef("--deinterlace %q: want auto, on or off", o.deinterlace)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"width", o.width}, {"height", o.height}, {"max-side", o.maxSide}} {
		if f.v < 0 || f.v > maxProcessingSide {
			return usagef("--%s %d: want 1..%d (or 0, the default)", f.name, f.v, maxProcessingSide)
		}
	}
	if o.maxSide > 0 && (o.width > 0 || o.height > 0) {
		return usagef("give --max-side or --width/--height, not both (--width and --height set the size; --max-side bounds the input's)")
	}
	switch o.audio {
	case "copy", "none", "aac", "opus":
	default:
		return usagef("--audio %q: want copy, none, aac or opus", o.audio)
	}
	eo := encode.Options{Codec: o.codec}
	encode.Defaults(out, &eo)
	codec := eo.Codec
	hi := -1
	switch {
	case codec == "libx264" || codec == "libx265" || strings.HasSuffix(codec, "_nvenc"):
		hi = 51
	case codec == "libvpx-vp9" || codec == "libaom-av1" || codec == "libsvtav1":
		hi = 63
	}
	if o.crf < -1 || (hi >= 0 && o.crf > hi) {
		return usagef("--crf %d: want 0..%d for %s", o.crf, max(hi, 0), codec)
	}
	if (codec == "libx264" || codec == "libx265") && o.preset != "" && !x264Presets[o.preset] {
		return usagef("--preset %q: want ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow or placebo for %s", o.preset, codec)
	}
	if codec == "libsvtav1" && o.preset != "" {
		// SVT-AV1's presets are numbers (FFmpeg refused a name only when
		// the encoder opened, with "Invalid argument").
		if p, err := strconv.Atoi(o.preset); err != nil || p < -1 || p > 13 {
			return usagef("--preset %q: want -1 (the encoder's default) to 13 for libsvtav1 (0 slowest and best, 13 fastest)", o.preset)
		}
	}
	return nil
}

// size is the processing size for an input (display size w x h) under the
// size flags, refused beyond the limits.
func (o *renderOpts) size(info *decode.Info) (w, h int, err error) {
	// In square pixels: the network sees the picture as it is shown.
	w, h = pipeline.ProcessingSize(info.SquareWidth, info.SquareHeight, o.maxSide, o.width, o.height)
	if w > maxProcessingSide || h > maxProcessingSide {
		return 0, 0, usagef("the network would run at %dx%d, more than %d on a side: give --max-side, --width or --height", w, h, maxProcessingSide)
	}
	if info.DisplayWidth > maxOutputSide || info.DisplayHeight > maxOutputSide {
		return 0, 0, fmt.Errorf("input is %dx%d: more than %d on a side is not supported", info.DisplayWidth, info.DisplayHeight, maxOutputSide)
	}
	return w, h, nil
}

// resolveStyle finds the model file of a --style, its fp16 variant with
// --fp16 (saying on stderr when that does nothing or nothing useful).
func resolveStyle(o *renderOpts, style string, stderr io.Writer) (string, error) {
	model, err := models.Resolve(style, models.Dirs(o.modelsDir))
	if err != nil && o.modelsDir != "" && !models.IsPath(style) {
		if st, serr := os.Stat(o.modelsDir); serr != nil || !st.IsDir() {
			return "", usagef("--models-dir %s is not a folder", o.modelsDir) // the reason the name was not found
		}
	}
	if err == nil && !o.fp16 && !models.IsPath(style) {
		if _, ok := models.FP16(model); ok {
			o.fp16Spare = style
		}
	}
	if err != nil || !o.fp16 {
		return model, err
	}
	warn := func(format string, a ...any) {
		if !o.quiet {
			fmt.Fprintf(stderr, "vidnst: warning: "+format+"\n", a...)
		}
	}
	switch p, ok := models.FP16(model); {
	case models.IsPath(style):
		warn("--fp16 picks the fp16 variant of a named style; %s is used as it is", style)
	case !ok:
		warn("--fp16: no fp16 variant of %s (fp16/%s-fp16.onnx beside it); using %s", style, models.StyleName(model), model)
	default:
		if o.device == "cpu" {
			warn("--fp16 on the CPU is no faster (fp16 is for GPUs) and changes the pixels slightly")
		}
		model, o.fp16Picked = p, true
	}
	return model, nil
}

// checkWritable creates and removes a file in dir.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".vidnst-check-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable", dir)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// stillFlags are the render flags a still output has no use for: the
// video-only ones but those that pick its frame (--start, --frames A-A).
var stillFlags = slices.DeleteFunc(slices.Clone(videoOnlyFlags), func(f string) bool { return f == "start" || f == "frames" })

// renderCmd renders in to out: a video, or a still when out is an image
// path. cmd is the command that parsed o (for the flags it was given).
func renderCmd(cmd *cobra.Command, o *renderOpts, in, out string, stdout, stderr io.Writer) error {
	ctx := cmd.Context()
	still := pipeline.IsImagePath(out)
	if still {
		if err := notFor(cmd, "a still output is one frame, stylized on its own", stillFlags...); err != nil {
			return err
		}
	}
	j, err := prepare(o, in, out, stderr)
	if err != nil {
		return err
	}
	if still {
		if n := j.rng.last - j.rng.first + 1; o.frames != "" && n > 1 {
			return usagef("--frames %s is %d frames and a still output takes one: give --frames %d-%d, or write a video", o.frames, n, j.rng.first, j.rng.first)
		}
		return stillCmd(ctx, o, j, stdout, stderr)
	}
	st, err := j.run(ctx, stderr)
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(stdout, "vidnst: %s in %s (%.2f fps) -> %s\n", count(st.frames, "frame"), st.elapsed.Round(time.Millisecond), st.fps(), out)
	}
	return nil
}

type runStats struct {
	frames  int
	dropped int
	elapsed time.Duration // the whole run, model loading included
	piped   time.Duration // the pipeline alone (first decode to last mux)
	device  string
	stages  pipeline.Stats // the pipeline's own account (wall and busy time per stage)
}

func (s runStats) fps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.frames) / s.elapsed.Seconds()
}

// openStyler loads ONNX Runtime and opens the model at the processing size
// for a render or a benchmark; single is for
// callers that run one frame at a time (Run), which then gets all the
// threads instead of half of them (stylize.Options.Parallel).
func openStyler(o *renderOpts, model string, w, h int, single bool, stderr io.Writer) (*stylize.Session, error) {
	if err := stylize.Init(o.ortLib); err != nil {
		return nil, err
	}
	par := 0
	if single {
		par = 1
	}
	batch := o.batch
	if single && batch == 0 {
		batch = 1 // one frame: a model's fixed batch of N would run it padded, N times the work
	}
	opts := stylize.Options{Width: w, Height: h, Batch: batch, Threads: o.threads, Device: o.device, Parallel: par}
	s, err := stylize.New(model, opts)
	if err != nil {
		return nil, err
	}
	sayDevice(o, s, stderr)
	return fitMemory(o, s, func(parallel int, lowMemory bool) (*stylize.Session, error) {
		opts.Parallel, opts.LowMemory = parallel, lowMemory
		return stylize.New(model, opts)
	}, w, h, stderr)
}

// sayDevice tells, for --device auto, which device a session runs on and
// why not CUDA (the reason without its "use --device cpu" advice: the
// fallback took it).
func sayDevice(o *renderOpts, s *stylize.Session, stderr io.Writer) {
	defer fp16Note(o, s.Device(), stderr)
	if o.device != "auto" || o.quiet {
		return
	}
	if fb := s.Fallback(); fb != nil {
		why := fb.Error()
		if i := strings.LastIndex(why, "; "); i > 0 && strings.HasSuffix(why, "use --device cpu") {
			why = why[:i] // the fallback took that advice
		}
		fmt.Fprintf(stderr, "vidnst: inference on %s (%s)\n", s.Device(), why)
		if o.fp16Picked && s.Device() == "cpu" {
			fmt.Fprintln(stderr, "vidnst: warning: --fp16 on the CPU is no faster (fp16 is for GPUs) and changes the pixels slightly")
		}
	} else {
		fmt.Fprintf(stderr, "vidnst: inference on %s\n", s.Device())
	}
}

// fp16Note says once, where a style network runs on a GPU without --fp16
// and its fp16 variant is there, what --fp16 would gain.
func fp16Note(o *renderOpts, device string, stderr io.Writer) {
	if o.quiet || o.fp16Noted || o.fp16Spare == "" || device == "cpu" {
		return
	}
	o.fp16Noted = true
	fmt.Fprintf(stderr, "vidnst: note: --fp16 runs %s's fp16 variant, about 1.3x as fast on a GPU (1080p on an H100: 75 against 57 frames/s)\n", o.fp16Spare)
}

func (j *job) run(ctx context.Context, stderr io.Writer) (runStats, error) {
	var rs runStats
	o := j.o
	start := time.Now()
	sess := j.sess
	if sess != nil {
		if w, h := sess.Size(); w != j.w || h != j.h {
			return rs, fmt.Errorf("render: the session given runs at %dx%d, the render at %dx%d", w, h, j.w, j.h)
		}
	} else {
		s, err := openStyler(o, j.model, j.w, j.h, false, stderr)
		if err != nil {
			return rs, err
		}
		defer s.Close()
		sess = s
	}
	rs.device = sess.Device()
	if big := j.w * j.h; rs.device == "cpu" && big > bigOnCPU && !o.quiet && o.maxSide == 0 && o.width == 0 && o.height == 0 {
		// The network's cost grows with the pixels: at the input's 4K a
		// frame takes seconds on a laptop, and --max-side says so nowhere.
		w, h := pipeline.ProcessingSize(j.w, j.h, 1280, 0, 0)
		fmt.Fprintf(stderr, "vidnst: note: the network runs at the input's %dx%d on the CPU; --max-side 1280 (%dx%d) would be about %.1fx faster\n", j.w, j.h, w, h, float64(big)/float64(w*h))
	}

	startPTS, endPTS := j.rng.startPTS, j.rng.endPTS
	if j.warmUp > 0 {
		startPTS = j.rng.warmPTS
	}
	hw := o.hwaccel
	if hw == "none" {
		hw = ""
	}
	r, err := decode.Open(j.in, decode.Options{Width: j.w, Height: j.h, Ranged: j.rng.set, StartPTS: startPTS, EndPTS: endPTS, HWAccel: hw, Index: j.rng.index, Deinterlace: j.deint})
	if err != nil {
		return rs, err
	}
	defer r.Close()

	info := j.info
	fw := j.w
	if j.sideBySide {
		fw = 2 * j.w
	}
	// The input's pixel shape where the output keeps its stored size;
	// square pixels at the processing size (whose aspect is the shown one).
	sarN, sarD := info.UprightSAR()
	if j.ow != info.DisplayWidth || j.oh != info.DisplayHeight {
		sarN, sarD = 1, 1
	}
	eo := encode.Options{
		Path: j.out, Force: o.force,
		Codec: o.codec, CRF: o.crf, Preset: o.preset, PixFmt: o.pixFmt, GOP: j.gop,
		Width: j.ow, Height: j.oh, FrameW: fw, FrameH: j.h,
		TimeBaseNum: info.TimeBaseNum, TimeBaseDen: info.TimeBaseDen,
		FrameRateNum: info.FrameRateNum, FrameRateDen: info.FrameRateDen,
		BaseRateNum: info.BaseRateNum, BaseRateDen: info.BaseRateDen,
		FrameDurationTB: info.FrameDurationTB(),
		SARNum:          sarN, SARDen: sarD,
		FullRange: info.FullRange, Matrix: info.Matrix, Primaries: info.Primaries, Transfer: info.Transfer, VideoStream: info.Index,
		Input: j.in, Audio: o.audio,
		EndPTS: endPTS, Rebase: j.rebase,
	}
	if j.rebase {
		eo.StartPTS = j.rng.startPTS
	} else if !j.keepTimeline && info.StartSec > 0 {
		eo.ShiftSec = info.StartSec // start at 0, as FFmpeg's output does
	}
	if j.noStreams {
		eo.Input = ""
	}
	wr, err := encode.Create(eo)
	if err != nil {
		return rs, err
	}
	defer wr.Close()
	for _, k := range wr.Ignored() {
		if !o.quiet {
			fmt.Fprintf(stderr, "vidnst: warning: --%s does nothing for %s (it has no such option)\n", k, wr.Codec())
		}
	}
	for _, s := range wr.LeftOut() {
		if !o.quiet {
			keep := "use .mkv to keep it"
			if strings.EqualFold(filepath.Ext(j.out), ".mkv") {
				keep = "vidnst copies it as it is: write the input's own container to keep it"
			}
			fmt.Fprintf(stderr, "vidnst: warning: %s left out: %s cannot hold it (%s)\n", s, filepath.Ext(j.out), keep)
		}
	}
	for _, s := range wr.Notes() {
		if !o.quiet {
			fmt.Fprintf(stderr, "vidnst: warning: %s\n", s)
		}
	}

	tmp, err := newTemporal(o, j.w, j.h, rs.device == "cpu", stderr)
	if err != nil {
		return rs, err
	}
	if tmp != nil {
		defer tmp.Close()
	}
	var styler pipeline.Styler = sess
	controls := o.strength < 1 || o.preserveColor
	if controls && tmp == nil {
		styler = &controlledStyler{Styler: sess, strength: float32(o.strength), preserveColor: o.preserveColor, n: j.w * j.h}
	}
	total := j.rng.count(info)
	mode, _ := pipeline.ParseProgress(o.progress, isTerminal(stderr))
	if o.quiet {
		mode = pipeline.ProgressNone
	}
	rep := j.progress
	if rep == nil {
		rep = pipeline.NewReporter(mode, stderr, total)
	}
	var sink pipeline.Sink = wr
	if j.sideBySide {
		sink = &sideBySide{w: wr, buf: frame.New(2*j.w, j.h)}
	}
	cfg := pipeline.Config{
		Width: j.w, Height: j.h,
		Source: r, Styler: styler, Sink: sink,
		Progress: rep.Update,
	}
	if tmp != nil {
		cfg.Temporal = tmp
		if controls {
			cfg.Temporal = &controlledTemporal{temporalStage: tmp, strength: float32(o.strength), preserveColor: o.preserveColor, n: j.w * j.h}
		}
		cfg.AuxLen = tmp.AuxLen()
	}
	if j.warmUp > 0 {
		warm := j.warmUp
		cfg.MarkSkip = func(i int) bool { return i < warm }
	}
	t0 := time.Now()
	st, err := pipeline.Run(ctx, cfg)
	if err == nil && st.Frames == 0 {
		err = fmt.Errorf("%s: no frame decoded in the requested range", j.in)
		if !j.rng.set {
			err = fmt.Errorf("%s: no frame could be decoded (a truncated or corrupt file?)", j.in)
		}
	}
	if err == nil {
		err = wr.Finish(ctx)
	}
	if err != nil {
		rep.Finish()
		return rs, err
	}
	rep.Done(st.Frames)
	if !o.quiet {
		warnDroppedAudio(stderr, wr.DroppedAudio())
	}
	rs.piped = time.Since(t0)
	rs.frames = st.Frames
	rs.stages = st
	rs.dropped = r.Dropped()
	rs.elapsed = time.Since(start)
	if rs.dropped > 0 && !o.quiet {
		fmt.Fprintf(stderr, "vidnst: warning: %d corrupt frames could not be decoded and were dropped\n", rs.dropped)
	}
	if n := r.Repeated(); n > 0 && !o.quiet {
		fmt.Fprintf(stderr, "vidnst: warning: %s whose timestamp repeated or went back on the one before %s left out (joined recordings?)\n", count(n, "frame"), map[bool]string{true: "was", false: "were"}[n == 1])
	}
	if n, w, h := r.Resized(); n > 0 && !o.quiet {
		fmt.Fprintf(stderr, "vidnst: warning: %s changes its frame size mid-stream: %s at %dx%d (not %dx%d) were scaled to %dx%d, stretched where the aspect ratio differs\n", j.in, count(n, "frame"), w, h, info.Width, info.Height, j.w, j.h)
	}
	if r.Transparent() && !o.quiet {
		fmt.Fprintln(stderr, transparentNote(j.in))
	}
	if n, d := wr.Retimed(); n > 0 && !o.quiet {
		fmt.Fprintf(stderr, "vidnst: warning: %s has a variable frame rate and %s stores a constant one: %s moved off their times, by up to %.2f s (the picture drifts from the sound); .mkv or .mp4 keep them\n", j.in, filepath.Ext(j.out), count(n, "frame"), d)
	}
	if m := r.Missing(); m > 0 && !o.quiet {
		fmt.Fprintf(stderr, "vidnst: warning: %s ended after %d of the %d frames its container lists (a truncated file?)\n", j.in, r.Packets(), r.Packets()+m)
	}
	return rs, nil
}
