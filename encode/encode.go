// Package encode turns stylized frames back into a video file with FFmpeg
// (go-astiav): it scales each frame to the output size, converts it to the
// output pixel format with the input's colour range and matrix, encodes it
// with the input's timestamps, and muxes it with the input's other streams
// (audio, subtitles: copied bit-exact when the container takes them,
// transcoded otherwise), its metadata and chapters.
//
// The file is written to a temporary name in the target folder and renamed
// by Finish; Close without Finish removes it, so a failed or interrupted run
// leaves nothing behind.
package encode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/asticode/go-astiav"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/internal/par"
	"github.com/vidnst/vidnst/internal/pix"
)

func init() {
	// SVT-AV1 logs through its own printf (15 lines of settings per file),
	// at the level the environment gives when an encoder starts: errors
	// only, unless asked. Set here, before any thread could read the
	// environment.
	if os.Getenv("VIDNST_FFMPEG_LOG") == "" && os.Getenv("SVT_LOG") == "" {
		os.Setenv("SVT_LOG", "1")
	}
}

// Errors callers can match with errors.Is.
var (
	ErrExists           = errors.New("output exists (use --force to overwrite)")
	ErrUnknownContainer = errors.New("unknown container for this file extension")
	ErrUnknownCodec     = errors.New("unknown encoder")
	ErrCodecContainer   = errors.New("container cannot hold this codec")
	ErrOutputDir        = errors.New("output folder is not writable")
	ErrHWEncoder        = errors.New("hardware encoder unavailable")
	ErrPixFmt           = errors.New("pixel format")
)

// Options configure a Writer. Sizes are upright (after the input's
// rotation was applied by the decoder).
type Options struct {
	Path  string // final output path
	Force bool   // replace an existing file at Path

	Codec   string // encoder name (libx264, libx265, libvpx-vp9, libsvtav1, libaom-av1, h264_nvenc, ...)
	CRF     int    // constant rate factor; <0: the codec's default
	Preset  string // encoder preset ("" = the codec's default)
	PixFmt  string // output pixel format (yuv420p, ...)
	Threads int    // encoder threads (0 = FFmpeg's choice)
	GOP     int    // keyframe interval in frames (0 = the codec's default)

	Width, Height  int // output size; odd sizes are cropped by one pixel for 4:2:0/4:2:2
	FrameW, FrameH int // size of the frames passed to Write
	TimeBaseNum    int // time base of Frame.PTS (the input video stream's)
	TimeBaseDen    int
	FrameRateNum   int // average frame rate (a hint for rate control)
	FrameRateDen   int
	// BaseRateNum/Den: the input's base rate (decode.Info's), where every
	// frame's time falls on a tick. AVI, which stores a rate and no
	// timestamps, is written at it when it is a plausible video rate (up
	// to 120 fps, and not twice or 2.5 times the average: the field rate
	// of interlaced or telecined video): a variable-rate input's frames
	// then keep their times (its slower parts hold each picture, as empty
	// AVI frames), where at the average rate they were pushed later and
	// drifted off the sound.
	BaseRateNum, BaseRateDen int
	FrameDurationTB          int64 // default frame duration in time-base units
	SARNum, SARDen           int

	// Colour of the input; the output is converted and tagged the same.
	FullRange           bool
	Matrix              string // bt709, bt601, smpte240m, bt2020
	Primaries, Transfer string // FFmpeg names or ""

	// Input is the file whose other streams, metadata and chapters are
	// carried over ("" = none).
	Input string
	// VideoStream is the index in Input of the video stream being
	// stylized (its tags are carried over); when that is no video
	// stream, Input's first video stream.
	VideoStream int
	// Audio: "copy" (default: copy when the container accepts the codec,
	// else transcode), "none", or "aac"/"opus" (transcode).
	Audio string

	// StartPTS/EndPTS (video time base) is the range being rendered; other
	// streams are cut to it. EndPTS <= 0 means to the end. With Rebase the
	// output's timestamps start at zero.
	StartPTS, EndPTS int64
	Rebase           bool
	// ShiftSec is subtracted from every output timestamp, all streams and
	// chapters, on top of Rebase: the input's start time, so that a
	// whole-file render starts at 0 as FFmpeg's output does (an MPEG-TS
	// input starts at 1.4 s or later).
	ShiftSec float64
}

// Defaults fills the codec settings the README documents for an output
// extension: libx264 crf 18 preset medium yuv420p for .mp4/.mkv/.mov (and
// anything else), libvpx-vp9 crf 32 + opus audio for .webm, and for the
// raw streams that hold one codec: libvpx-vp9 for .ivf, libx265 for
// .hevc/.h265, uncompressed frames for .y4m.
func Defaults(path string, o *Options) {
	if o.Codec == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".webm", ".ivf":
			o.Codec = "libvpx-vp9"
		case ".hevc", ".h265":
			o.Codec = "libx265"
		case ".y4m":
			o.Codec = "wrapped_avframe" // what FFmpeg's YUV4MPEG muxer takes
		default:
			o.Codec = "libx264"
		}
	}
	if o.CRF < 0 {
		switch o.Codec {
		case "libx264", "libx265":
			o.CRF = 18
		case "libvpx-vp9":
			o.CRF = 32
		case "libsvtav1", "libaom-av1":
			o.CRF = 30
		}
	}
	if o.Preset == "" && (o.Codec == "libx264" || o.Codec == "libx265") {
		o.Preset = "medium"
	}
	if o.PixFmt == "" {
		o.PixFmt = "yuv420p"
		if o.Codec == "mjpeg" {
			// FFmpeg's MJPEG encoder takes limited-range 4:2:0 only with
			// -strict unofficial; JPEG's own is full range.
			o.PixFmt = "yuvj420p"
		}
	}
	if o.Audio == "" {
		o.Audio = "copy"
	}
}

// Writer encodes frames into one output file. It is used by one goroutine.
type Writer struct {
	opts  Options
	tmp   string
	out   *astiav.FormatContext
	io    *astiav.IOContext
	enc   *astiav.CodecContext
	vs    *astiav.Stream
	graph *astiav.FilterGraph
	src   *astiav.FilterContext
	sink  *astiav.FilterContext
	ef    *astiav.Frame // gbrp frame the stylized pixels are written into
	sf    *astiav.Frame // filtered frame for the encoder
	pkt   *astiav.Packet
	copy  *copier

	encTB, outTB astiav.Rational
	// cfr: the container stores a frame rate, not timestamps (AVI): the
	// encoder counts frames at 1/frame rate, lastPTS is the last it got.
	cfr      bool
	lastPTS  int64
	retimed  int     // cfr: frames pushed off their time (Retimed)
	maxDrift float64 // the most seconds one was pushed
	ignored  []string
	offset   int64 // subtracted from video timestamps
	durs     [64]struct{ pts, dur int64 }
	frames   int
	finished bool
	closed   bool
	// encOpen: the encoder was opened; encEnded: it was sent the end of
	// the stream (Finish, or Close before freeing it: SVT-AV1 waits for
	// that end forever when freed without it).
	encOpen, encEnded bool
	encFed            bool // a frame reached the encoder

	// conv converts f.Out into ef in row bands, on par.FrameWorkers of the
	// frame size (the caller alone below 1 MP).
	conv    par.Runner
	kConv   func(lo, hi int)
	convSrc []float32
}

// Create opens an output for writing: it checks the target, creates the
// temporary file, the encoder, the filter graph and the copied streams, and
// writes the header. On error nothing is left on disk.
func Create(opts Options) (w *Writer, err error) {
	Defaults(opts.Path, &opts)
	if err := checkTarget(opts.Path, opts.Force); err != nil {
		return nil, err
	}
	built := &Writer{opts: opts}
	w = built
	defer func() {
		if err != nil {
			// Not w: `return nil, err` has set it to nil by now.
			built.Close()
			w = nil
		}
	}()
	if opts.Rebase {
		w.offset = opts.StartPTS
	}
	if opts.ShiftSec != 0 && opts.TimeBaseNum > 0 && opts.TimeBaseDen > 0 {
		w.offset += int64(math.Round(opts.ShiftSec * float64(opts.TimeBaseDen) / float64(opts.TimeBaseNum)))
	}
	w.encTB = astiav.NewRational(opts.TimeBaseNum, opts.TimeBaseDen)
	out, err := astiav.AllocOutputFormatContext(nil, "", opts.Path)
	if err != nil || out == nil {
		return nil, fmt.Errorf("encode: %s: %w", opts.Path, ErrUnknownContainer)
	}
	w.out = out
	if out.OutputFormat().Name() == "avi" && opts.FrameRateNum > 0 && opts.FrameRateDen > 0 {
		// AVI has no timestamps: each frame takes 1/rate of its stream's
		// time base, so a fine time base (1/12800) wrote 512 empty frames
		// per real one.
		w.cfr, w.lastPTS = true, math.MinInt64
		num, den := aviRate(opts)
		w.encTB = astiav.NewRational(den, num)
	}
	if err := w.openVideo(); err != nil {
		return nil, err
	}
	if opts.Input != "" {
		if w.copy, err = newCopier(w, opts); err != nil {
			return nil, err
		}
	}
	if err := w.openFile(); err != nil {
		return nil, err
	}
	w.outTB = w.vs.TimeBase()
	return w, nil
}

// openFile creates the temporary file beside the output and writes the
// header.
func (w *Writer) openFile() (err error) {
	dir := filepath.Dir(w.opts.Path)
	w.tmp = outfile.TempName(dir, filepath.Base(w.opts.Path))
	if w.io, err = astiav.OpenIOContext(fileURL(w.tmp), astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
		w.tmp = ""
		return fmt.Errorf("encode: %s: %w (%v)", dir, ErrOutputDir, err)
	}
	w.out.SetPb(w.io)
	if err := w.out.WriteHeader(nil); err != nil {
		// FFmpeg only says "Invalid argument": name the streams.
		streams := w.vs.CodecParameters().CodecID().Name() + " video"
		if d := w.copy.describe(); d != "" {
			streams += ", " + d
		}
		err = fmt.Errorf("encode: the %s container refused the streams (%s): write header: %w; .mkv takes them all, or change --codec or --audio", filepath.Ext(w.opts.Path), streams, err)
		var ae astiav.Error
		// EPERM: AVI's answer to an Opus stream.
		if errors.As(err, &ae) && (ae == astiav.Error(-int(syscall.EINVAL)) || ae == astiav.ErrEperm || ae == astiav.ErrInvaliddata) {
			err = refusedError{err} // not an I/O error: the streams do not fit
		}
		return err
	}
	return nil
}

// refusedError is a container's refusal of the streams at its header: it
// reads as its cause and matches ErrCodecContainer too.
type refusedError struct{ error }

func (e refusedError) Unwrap() []error { return []error{e.error, ErrCodecContainer} }

// closeFile writes the trailer, closes the file and renames it into place.
func (w *Writer) closeFile() error {
	if err := w.out.WriteTrailer(); err != nil {
		return fmt.Errorf("encode: write trailer: %w", err)
	}
	if err := w.io.Close(); err != nil {
		return fmt.Errorf("encode: close output: %w", err)
	}
	w.io = nil
	// On the disk before it takes the output's name.
	if err := outfile.Sync(w.tmp); err != nil {
		return fmt.Errorf("encode: sync output: %w", err)
	}
	if err := commit(w.tmp, w.opts.Path, w.opts.Force); err != nil {
		return err
	}
	w.tmp = ""
	w.finished = true
	return nil
}

// checkTarget refuses an existing output without force, and a folder we
// cannot write to.
func checkTarget(path string, force bool) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("encode: %s: %w (no such folder)", dir, ErrOutputDir)
	}
	if err := outfile.Check(path, force); errors.Is(err, outfile.ErrExists) {
		return fmt.Errorf("encode: %s: %w", path, ErrExists)
	} else if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return nil
}

func colorspaceTag(matrix string) string {
	switch matrix {
	case "bt601":
		return "smpte170m"
	case "bt2020":
		return "bt2020nc"
	}
	return matrix
}

// Validate checks, without writing anything, what Create would refuse
// about the video of a file at path: the container (from the extension),
// the encoder and the pixel format (empty codec and pixFmt: the defaults
// for path). For checking a farm plan's settings before any chunk runs.
func Validate(path, codec, pixFmt string) error {
	o := Options{Path: path, Codec: codec, PixFmt: pixFmt, CRF: -1}
	Defaults(path, &o)
	out, err := astiav.AllocOutputFormatContext(nil, "", path)
	if err != nil || out == nil {
		return fmt.Errorf("encode: %s: %w", path, ErrUnknownContainer)
	}
	defer out.Free()
	_, _, err = videoCodec(out, &o)
	return err
}

// ValidateAudio refuses an audio transcode (audio "aac" or "opus") into a
// container that holds video only (.y4m, .ivf, .h264, ...): the file's
// header would fail. "copy" leaves the audio out there (Writer.LeftOut).
func ValidateAudio(path, audio string) error {
	if audio != "aac" && audio != "opus" {
		return nil
	}
	out, err := astiav.AllocOutputFormatContext(nil, "", path)
	if err != nil || out == nil {
		return nil // Validate names the container
	}
	defer out.Free()
	if videoOnly[out.OutputFormat().Name()] {
		return fmt.Errorf("encode: %s: %w %s (it holds video only: --audio none, or .mkv keeps the audio)", filepath.Ext(path), ErrCodecContainer, audio)
	}
	return nil
}

// videoCodec finds o's encoder and pixel format and checks that they go
// together and into out's container.
func videoCodec(out *astiav.FormatContext, o *Options) (*astiav.Codec, astiav.PixelFormat, error) {
	codec := astiav.FindEncoderByName(o.Codec)
	if codec == nil {
		return nil, 0, fmt.Errorf("encode: %q: %w", o.Codec, ErrUnknownCodec)
	}
	if !isVideoEncoder(o.Codec) {
		return nil, 0, fmt.Errorf("encode: --codec %s: %w: it does not encode video (libx264, libx265, libvpx-vp9, libsvtav1 and libaom-av1 do)", o.Codec, ErrUnknownCodec)
	}
	if !containerAccepts(out, codec.ID()) {
		return nil, 0, fmt.Errorf("encode: %s: %w %s", filepath.Ext(o.Path), ErrCodecContainer, o.Codec)
	}
	pf := astiav.FindPixelFormatByName(o.PixFmt)
	if pf == astiav.PixelFormatNone {
		return nil, 0, fmt.Errorf("encode: unknown %w %q", ErrPixFmt, o.PixFmt)
	}
	if pfs := codec.PixelFormats(); len(pfs) > 0 && !slices.Contains(pfs, pf) {
		var names []string
		for _, p := range pfs {
			names = append(names, p.String())
		}
		return nil, 0, fmt.Errorf("encode: %s does not take %w %s (it takes %s)", o.Codec, ErrPixFmt, o.PixFmt, strings.Join(names, ", "))
	}
	return codec, pf, nil
}

func (w *Writer) openVideo() error {
	o := &w.opts
	codec, pf, err := videoCodec(w.out, o)
	if err != nil {
		return err
	}
	// 4:2:0 and 4:2:2 need even sizes: crop the last column/row.
	ow, oh := o.Width, o.Height
	if strings.Contains(o.PixFmt, "420") || strings.Contains(o.PixFmt, "422") || strings.Contains(o.PixFmt, "nv12") {
		ow, oh = ow&^1, oh&^1
		if strings.Contains(o.PixFmt, "422") {
			oh = o.Height
		}
	}
	if ow <= 0 || oh <= 0 {
		return fmt.Errorf("encode: output size %dx%d too small", o.Width, o.Height)
	}
	enc := astiav.AllocCodecContext(codec)
	if enc == nil {
		return errors.New("encode: alloc encoder failed")
	}
	w.enc = enc
	enc.SetWidth(ow)
	enc.SetHeight(oh)
	enc.SetPixelFormat(pf)
	enc.SetTimeBase(w.encTB)
	if o.FrameRateNum > 0 && o.FrameRateDen > 0 {
		enc.SetFramerate(astiav.NewRational(o.FrameRateNum, o.FrameRateDen))
	}
	if o.SARNum > 0 && o.SARDen > 0 {
		enc.SetSampleAspectRatio(astiav.NewRational(o.SARNum, o.SARDen))
	}
	if o.GOP > 0 {
		enc.SetGopSize(o.GOP)
	}
	if o.Threads > 0 {
		enc.SetThreadCount(o.Threads)
	}
	if w.out.OutputFormat().Flags().Has(astiav.IOFormatFlagGlobalheader) {
		enc.SetFlags(enc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	d := astiav.NewDictionary()
	defer d.Free()
	rng := "tv"
	if o.FullRange {
		rng = "pc"
	}
	set := func(k, v string) {
		if v != "" {
			_ = d.Set(k, v, 0)
		}
	}
	set("color_range", rng)
	set("colorspace", colorspaceTag(o.Matrix))
	set("color_primaries", o.Primaries)
	set("color_trc", o.Transfer)
	if o.CRF >= 0 {
		if strings.HasSuffix(o.Codec, "_nvenc") {
			set("cq", strconv.Itoa(o.CRF)) // NVENC's constant quality; it has no crf
		} else {
			set("crf", strconv.Itoa(o.CRF))
		}
		if o.Codec == "libvpx-vp9" || o.Codec == "libaom-av1" {
			set("b", "0")
		}
	}
	if o.Preset != "" {
		set("preset", o.Preset)
	}
	if o.Codec == "libx265" && os.Getenv("VIDNST_FFMPEG_LOG") == "" {
		// x265 logs through its own printf, not FFmpeg's log: 20+ lines
		// of settings per file unless told otherwise.
		set("x265-params", "log-level=error")
	}
	if o.Codec == "libvpx-vp9" {
		set("row-mt", "1")
		set("deadline", "good")
		set("cpu-used", "4")
	}
	err = enc.Open(codec, d)
	w.encOpen = err == nil
	if err != nil {
		if strings.HasSuffix(o.Codec, "_nvenc") {
			// Data-centre GPUs (A100, H100, H200) decode in hardware but
			// have no NVENC at all: NVIDIA's Video Codec SDK lists Hopper
			// among the NVDEC GPUs only.
			return fmt.Errorf("encode: %s: %w: it needs an NVIDIA GPU with NVENC (the A100, H100 and H200 have none) and the driver's libnvidia-encode (%v; VIDNST_FFMPEG_LOG=error shows FFmpeg's reason); use --codec libx264", o.Codec, ErrHWEncoder, err)
		}
		return fmt.Errorf("encode: open encoder %s: %w", o.Codec, err)
	}
	// The encoder takes the options it knows out of d: what is left of
	// the ones a user chose did nothing.
	for _, k := range []string{"preset", "crf"} {
		if d.Get(k, nil, 0) != nil {
			w.ignored = append(w.ignored, k)
		}
	}
	w.vs = w.out.NewStream(nil)
	if w.vs == nil {
		return errors.New("encode: new stream failed")
	}
	if err := w.vs.CodecParameters().FromCodecContext(enc); err != nil {
		return fmt.Errorf("encode: codec parameters: %w", err)
	}
	w.vs.SetTimeBase(w.encTB)
	if o.SARNum > 0 && o.SARDen > 0 {
		w.vs.SetSampleAspectRatio(astiav.NewRational(o.SARNum, o.SARDen))
	}

	// Filter graph: gbrp at the processing size -> output size and format.
	chain := fmt.Sprintf("scale=w=%d:h=%d:out_range=%s:out_color_matrix=%s:flags=bicubic+accurate_rnd+full_chroma_int", o.Width, o.Height, rng, o.Matrix)
	if ow != o.Width || oh != o.Height {
		chain += fmt.Sprintf(",crop=%d:%d:0:0", ow, oh)
	}
	chain += ",format=" + o.PixFmt
	g, src, sink, err := newGraph(chain, max(o.FrameW*o.FrameH, o.Width*o.Height), astiav.FilterArgs{
		"video_size":   strconv.Itoa(o.FrameW) + "x" + strconv.Itoa(o.FrameH),
		"pix_fmt":      strconv.Itoa(int(astiav.PixelFormatGbrp)),
		"time_base":    strconv.Itoa(o.TimeBaseNum) + "/" + strconv.Itoa(o.TimeBaseDen),
		"pixel_aspect": "1/1",
	})
	if err != nil {
		return err
	}
	w.graph, w.src, w.sink = g, src, sink
	w.ef, w.sf, w.pkt = astiav.AllocFrame(), astiav.AllocFrame(), astiav.AllocPacket()
	w.kConv = w.convRows
	w.conv = par.New(par.FrameWorkers(o.FrameW * o.FrameH))
	w.ef.SetWidth(o.FrameW)
	w.ef.SetHeight(o.FrameH)
	w.ef.SetPixelFormat(astiav.PixelFormatGbrp)
	if err := w.ef.AllocBuffer(0); err != nil {
		return fmt.Errorf("encode: alloc frame: %w", err)
	}
	return nil
}

func newGraph(desc string, pixels int, srcArgs astiav.FilterArgs) (g *astiav.FilterGraph, src, sink *astiav.FilterContext, err error) {
	built := astiav.AllocFilterGraph()
	if built == nil {
		return nil, nil, nil, errors.New("encode: alloc filter graph failed")
	}
	g = built
	defer func() {
		if err != nil {
			built.Free() // not g: `return nil, ...` has set it to nil
		}
	}()
	g.SetThreadCount(par.FrameWorkers(pixels))
	name := "buffer"
	sinkName := "buffersink"
	if _, ok := srcArgs["sample_fmt"]; ok {
		name, sinkName = "abuffer", "abuffersink"
	}
	bsrc, bsink := astiav.FindFilterByName(name), astiav.FindFilterByName(sinkName)
	if bsrc == nil || bsink == nil {
		return nil, nil, nil, fmt.Errorf("encode: filters %s/%s missing from FFmpeg", name, sinkName)
	}
	if src, err = g.NewFilterContext(bsrc, "in", srcArgs); err != nil {
		return nil, nil, nil, fmt.Errorf("encode: filter source: %w", err)
	}
	if sink, err = g.NewFilterContext(bsink, "out", nil); err != nil {
		return nil, nil, nil, fmt.Errorf("encode: filter sink: %w", err)
	}
	outs, ins := astiav.AllocFilterInOut(), astiav.AllocFilterInOut()
	defer outs.Free()
	defer ins.Free()
	outs.SetName("in")
	outs.SetFilterContext(src)
	outs.SetPadIdx(0)
	outs.SetNext(nil)
	ins.SetName("out")
	ins.SetFilterContext(sink)
	ins.SetPadIdx(0)
	ins.SetNext(nil)
	if err = g.Parse(desc, ins, outs); err != nil {
		return nil, nil, nil, fmt.Errorf("encode: filter graph %q: %w", desc, err)
	}
	if err = g.Configure(); err != nil {
		return nil, nil, nil, fmt.Errorf("encode: filter graph %q: %w", desc, err)
	}
	return g, src, sink, nil
}

// Write encodes f (f.Out, planar RGB 0..255, clamped and rounded here) with
// timestamp f.PTS. The caller keeps ownership of f; it is not retained.
func (w *Writer) Write(f *frame.Frame) error {
	if f.W != w.opts.FrameW || f.H != w.opts.FrameH {
		return fmt.Errorf("encode: frame is %dx%d, writer takes %dx%d", f.W, f.H, w.opts.FrameW, w.opts.FrameH)
	}
	if err := makeWritable(w.ef); err != nil {
		return fmt.Errorf("encode: frame buffer: %w", err)
	}
	w.convSrc = f.Out
	w.conv.Run(f.H, w.kConv)
	w.convSrc = nil
	pts := f.PTS - w.offset
	w.ef.SetPts(pts)
	dur := f.Duration
	if dur <= 0 {
		dur = w.opts.FrameDurationTB
	}
	w.durs[w.frames%len(w.durs)] = struct{ pts, dur int64 }{pts, dur}
	w.frames++
	if err := w.src.BuffersrcAddFrame(w.ef, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return fmt.Errorf("encode: filter input: %w", err)
	}
	return w.drainGraph(context.Background())
}

// drainGraph and drainEncoder pass on what the filter graph and the
// encoder have ready; they stop between packets when ctx ends (Finish's
// flush after a signal).
func (w *Writer) drainGraph(ctx context.Context) error {
	for {
		err := w.sink.BuffersinkGetFrame(w.sf, astiav.NewBuffersinkFlags())
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode: filter: %w", err)
		}
		if w.cfr {
			inTB := astiav.NewRational(w.opts.TimeBaseNum, w.opts.TimeBaseDen)
			r := astiav.RescaleQ(w.sf.Pts(), inTB, w.encTB)
			p := max(r, w.lastPTS+1)
			if p != r { // pushed off its time by the one before
				w.retimed++
				w.maxDrift = max(w.maxDrift, float64(p-r)*w.encTB.Float64())
			}
			w.sf.SetPts(p)
			w.lastPTS = p
		}
		err = w.enc.SendFrame(w.sf)
		w.encFed = true
		w.sf.Unref()
		if err != nil {
			return fmt.Errorf("encode: encoder: %w", err)
		}
		if err := w.drainEncoder(ctx); err != nil {
			return err
		}
	}
}

func (w *Writer) drainEncoder(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := w.enc.ReceivePacket(w.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode: encoder: %w", err)
		}
		if w.pkt.Duration() <= 0 {
			w.pkt.SetDuration(w.durationOf(w.pkt.Pts()))
		}
		w.pkt.SetStreamIndex(w.vs.Index())
		w.pkt.RescaleTs(w.encTB, w.outTB)
		if w.copy != nil {
			t := float64(w.pkt.Dts()) * w.outTB.Float64()
			if err := w.copy.pumpUntil(t); err != nil {
				w.pkt.Unref()
				return err
			}
		}
		err = w.out.WriteInterleavedFrame(w.pkt)
		w.pkt.Unref()
		if err != nil {
			return fmt.Errorf("encode: write packet: %w", err)
		}
	}
}

func (w *Writer) durationOf(pts int64) int64 {
	if w.cfr {
		return 1
	}
	for _, d := range w.durs {
		if d.pts == pts && d.dur > 0 {
			return d.dur
		}
	}
	return w.opts.FrameDurationTB
}

// fromPlanar writes planar RGB float32 (clamped to 0..255, rounded) into a
// gbrp frame.
func fromPlanar(dst *astiav.Frame, src []float32, w, h, lo, hi int) {
	n := w * h
	order := [3]int{2, 0, 1} // planar R,G,B -> gbrp planes 2,0,1
	for c := 0; c < 3; c++ {
		p, ls := framePlane(dst, order[c], h)
		s := src[c*n : (c+1)*n : (c+1)*n]
		for y := lo; y < hi; y++ {
			pix.Quantize(p[y*ls:y*ls+w:y*ls+w], s[y*w:y*w+w:y*w+w])
		}
	}
}

func (w *Writer) convRows(lo, hi int) {
	fromPlanar(w.ef, w.convSrc, w.opts.FrameW, w.opts.FrameH, lo, hi)
}

// Codec is the encoder's name.
func (w *Writer) Codec() string { return w.opts.Codec }

// Ignored lists the encoder options the user chose that the encoder does
// not have ("preset", "crf"), for a warning.
func (w *Writer) Ignored() []string { return w.ignored }

// DroppedAudio is the number of copied audio packets dropped so far for
// starting at or before the one written last (where two recordings were
// joined), which no muxer takes.
func (w *Writer) DroppedAudio() int {
	n := 0
	if w.copy != nil {
		for _, cs := range w.copy.streams {
			if cs.in.CodecParameters().MediaType() == astiav.MediaTypeAudio {
				n += cs.dropped
			}
		}
	}
	return n
}

// LeftOut names the input streams the output container could not hold.
func (w *Writer) LeftOut() []string {
	if w.copy == nil {
		return nil
	}
	return w.copy.left
}

// Notes says what transcoding the input's other streams changed beyond
// their codec (an audio track downmixed to stereo).
func (w *Writer) Notes() []string {
	if w.copy == nil {
		return nil
	}
	return w.copy.notes
}

// Retimed is how many frames a container that stores a frame rate (AVI)
// could not place at their own time, and the most seconds one was moved
// (a variable-rate input whose base rate is no plausible video rate).
func (w *Writer) Retimed() (int, float64) { return w.retimed, w.maxDrift }

// Frames is the number of frames written so far.
func (w *Writer) Frames() int { return w.frames }

// Finish flushes the encoder, writes the rest of the copied streams and the
// trailer, and renames the temporary file to the output path. Without
// Force, an output that appeared meanwhile is not replaced.
//
// When ctx ends meanwhile (SIGINT during a slow preset's flush, which took
// 15 s at veryslow), Finish stops between packets and before the file is
// put in place, and returns ctx's error; Close then removes what it wrote.
func (w *Writer) Finish(ctx context.Context) error {
	if w.finished || w.closed {
		return errors.New("encode: writer already finished")
	}
	if err := w.src.BuffersrcAddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
		return fmt.Errorf("encode: flush filter: %w", err)
	}
	if err := w.drainGraph(ctx); err != nil {
		return err
	}
	w.encEnded = true
	if err := w.enc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("encode: flush encoder: %w", err)
	}
	if err := w.drainEncoder(ctx); err != nil {
		return err
	}
	if w.copy != nil {
		if err := w.copy.pumpUntil(math.Inf(1)); err != nil {
			return err
		}
		if err := w.copy.flush(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.closeFile()
}

// aviRate is the frame rate an AVI of o's frames is written at (see
// Options.BaseRateNum): the base rate where it is a plausible video rate
// above the average, not the field rate of a constant-rate interlaced (2x)
// or telecined (2.5x) stream; else the average.
func aviRate(o Options) (num, den int) {
	n, d := o.BaseRateNum, o.BaseRateDen
	if n <= 0 || d <= 0 || float64(n) > 120*float64(d) {
		return o.FrameRateNum, o.FrameRateDen
	}
	ratio := float64(n) * float64(o.FrameRateDen) / (float64(d) * float64(o.FrameRateNum))
	if ratio > 1.001 && math.Abs(ratio-2) > 0.04 && math.Abs(ratio-2.5) > 0.05 {
		return n, d
	}
	return o.FrameRateNum, o.FrameRateDen
}

// fileURL is path as FFmpeg must be given a local file: with the file:
// protocol named, else a colon in the name ("take-1:2.mp4",
// "2024-01-01T12:30.mp4") reads as a protocol ("Protocol not found").
func fileURL(path string) string { return "file:" + path }

// endEncoder ends the stream of an SVT-AV1 encoder that a render left
// early (an error, Ctrl-C) and drops what comes out, so that freeing it
// cannot hang: it waits forever when freed before the stream's end, and
// sending that end hangs too when it was given no frame, so it first gets
// a black one.
func (w *Writer) endEncoder() {
	w.encEnded = true
	pkt := astiav.AllocPacket()
	if pkt == nil {
		return
	}
	defer pkt.Free()
	if !w.encFed {
		if f := astiav.AllocFrame(); f != nil {
			f.SetWidth(w.enc.Width())
			f.SetHeight(w.enc.Height())
			f.SetPixelFormat(w.enc.PixelFormat())
			f.SetPts(0)
			if f.AllocBuffer(0) == nil && f.ImageFillBlack() == nil && w.enc.SendFrame(f) == nil {
				w.encFed = true
			}
			f.Free()
		}
	}
	if w.enc.SendFrame(nil) != nil {
		return
	}
	for w.enc.ReceivePacket(pkt) == nil {
		pkt.Unref()
	}
}

// commit moves tmp to path; without force it never replaces a file.
func commit(tmp, path string, force bool) error {
	if err := outfile.Commit(tmp, path, force); err != nil {
		if errors.Is(err, outfile.ErrExists) {
			return fmt.Errorf("encode: %s: %w", path, ErrExists)
		}
		return fmt.Errorf("encode: move the output into place: %w", err)
	}
	return nil
}

// Close frees everything; if Finish was not called (or failed) the
// temporary file is removed. Idempotent.
func (w *Writer) Close() error {
	if w == nil || w.closed {
		return nil
	}
	w.closed = true
	w.conv.Close()
	if w.copy != nil {
		w.copy.close()
	}
	if w.io != nil {
		_ = w.io.Close()
	}
	if w.tmp != "" {
		_ = os.Remove(w.tmp)
	}
	if w.graph != nil {
		w.graph.Free()
	}
	for _, f := range []*astiav.Frame{w.ef, w.sf} {
		if f != nil {
			f.Free()
		}
	}
	if w.enc != nil {
		if w.encOpen && !w.encEnded && w.opts.Codec == "libsvtav1" {
			w.endEncoder() // the others free at once (a drain would wait out their lookahead)
		}
		w.enc.Free()
	}
	if w.pkt != nil {
		w.pkt.Free()
	}
	if w.out != nil {
		w.out.Free()
	}
	return nil
}
