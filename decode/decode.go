// Package decode demuxes and decodes the video stream of a file with FFmpeg
// (go-astiav) and delivers upright frames at the processing size as planar
// RGB float32, the layout the style networks take.
//
// Colour: the YUV->RGB conversion uses the input's range (limited or full)
// and matrix (BT.601/BT.709/...); Info reports what was used so the encoder
// can convert back with the same parameters and tag the output.
// Orientation: a display matrix (phone videos) is applied, so frames come
// out upright and Info's DisplayWidth/DisplayHeight are the upright size.
package decode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/par"
	"github.com/vidnst/vidnst/internal/pix"
)

// Errors callers can match with errors.Is.
var (
	ErrNotFound     = errors.New("no such file")
	ErrEmpty        = errors.New("file is empty")
	ErrNotMedia     = errors.New("not a media file FFmpeg can read")
	ErrNoVideo      = errors.New("no video stream")
	ErrNoDecoder    = errors.New("no decoder for the video codec")
	ErrOutOfRange   = errors.New("range outside the video")
	ErrHWAccel      = errors.New("hardware decoding unavailable")
	ErrTSReset      = errors.New("timestamps jump backwards (a timestamp reset, e.g. joined .ts files)")
	errGraphMissing = errors.New("filter missing from this FFmpeg build")
)

// FFmpeg's own log is off: vidnst reports errors itself, in one line.
// VIDNST_FFMPEG_LOG=error|warning|info|verbose|debug turns it on (on
// stderr), to see why FFmpeg refused something (an NVENC session, a
// hardware decoder, a damaged stream).
func init() {
	level := astiav.LogLevelQuiet
	switch os.Getenv("VIDNST_FFMPEG_LOG") {
	case "":
	case "warning":
		level = astiav.LogLevelWarning
	case "info":
		level = astiav.LogLevelInfo
	case "verbose":
		level = astiav.LogLevelVerbose
	case "debug":
		level = astiav.LogLevelDebug
	default:
		level = astiav.LogLevelError
	}
	astiav.SetLogLevel(level)
}

// Info describes an input's video stream.
type Info struct {
	Path          string
	Format        string // container (FFmpeg demuxer name)
	Codec         string
	PixFmt        string
	Width, Height int // coded size
	// DisplayWidth, DisplayHeight: the upright size after rotation, in
	// stored pixels (SARNum:SARDen as stored; turned with the picture at
	// 90 and 270 degrees, see UprightSAR).
	DisplayWidth, DisplayHeight int
	// SquareWidth, SquareHeight: the upright picture in square pixels,
	// as it is shown (the stored width times the SAR); the Display size
	// when the SAR is 1:1 and for still-image codecs (PNG, JPEG, ...).
	SquareWidth, SquareHeight  int
	Rotation                   int // degrees clockwise the picture is turned for display: 0, 90, 180, 270
	TimeBaseNum, TimeBaseDen   int
	FrameRateNum, FrameRateDen int // average frame rate (0/0 when unknown)
	// BaseRateNum/Den: the lowest rate at which every frame's time falls
	// on a tick (FFmpeg's r_frame_rate; above the average for a variable
	// frame rate, 0/0 when unknown).
	BaseRateNum, BaseRateDen int
	SARNum, SARDen           int
	StartPTS                 int64   // first timestamp of the stream (time base units)
	StartSec                 float64 // the container's start time (its earliest stream's), seconds; 0 if unknown
	Duration                 float64 // seconds (container's or stream's)
	FrameCount               int64   // from the container; an estimate when it has none
	FullRange                bool    // yuvj / pc range
	// Matrix is the YUV<->RGB matrix in FFmpeg's scale-filter names (bt709,
	// bt601, smpte240m, bt2020); guessed from the height when untagged.
	Matrix              string
	MatrixGuessed       bool
	Primaries, Transfer string // FFmpeg names, "" when unspecified
	// BitDepth is the bits per sample of the stream's pixel format (8,
	// 10, 12; 0 when unknown).
	BitDepth int
	// Alpha: the pixel format has an alpha channel (which frames drop).
	Alpha bool
	// FieldOrder is "progressive", "tt", "bb", "tb" or "bt" (ffprobe's
	// names), "" when the stream does not say.
	FieldOrder string
	HasAudio   bool
	Streams    int
	// OtherVideo counts the video streams besides this one (cover art
	// not counted): they are not stylized. Covers counts the cover art
	// (attached pictures, still-image tracks beside the video).
	OtherVideo, Covers int
	// Index is the stream's index in the container.
	Index int
}

// UprightSAR is the sample aspect ratio of the upright picture: the
// stored one, inverted when the picture is turned a quarter.
func (i *Info) UprightSAR() (num, den int) {
	if i.Rotation == 90 || i.Rotation == 270 {
		return i.SARDen, i.SARNum
	}
	return i.SARNum, i.SARDen
}

// HDR reports whether the stream's transfer is an HDR one (PQ or HLG).
func (i *Info) HDR() bool { return i.Transfer == "smpte2084" || i.Transfer == "arib-std-b67" }

// Interlaced reports whether the stream says its frames are interlaced.
func (i *Info) Interlaced() bool {
	return i.FieldOrder != "" && i.FieldOrder != "progressive"
}

// TopFirst reports whether the stream says its top field comes first, and
// whether it says either (an interlaced stream). By the field order's
// first letter: FFmpeg documents tb as "bottom displayed first", but its
// own CLI writes tb for top-field-first video, as MOV's 'fiel' 9 and
// Matroska's 9 (interleaved, top first) read.
func (i *Info) TopFirst() (top, ok bool) {
	if !i.Interlaced() {
		return false, false
	}
	return i.FieldOrder[0] == 't', i.FieldOrder[0] == 't' || i.FieldOrder[0] == 'b'
}

// FrameDurationTB is one frame's duration in time-base units (from the
// average frame rate; 0 when unknown).
func (i *Info) FrameDurationTB() int64 {
	if i.FrameRateNum <= 0 || i.FrameRateDen <= 0 {
		return 0
	}
	return astiav.RescaleQ(1, astiav.NewRational(i.FrameRateDen, i.FrameRateNum), astiav.NewRational(i.TimeBaseNum, i.TimeBaseDen))
}

// Seconds converts a timestamp of the video stream to seconds.
func (i *Info) Seconds(pts int64) float64 {
	return float64(pts) * float64(i.TimeBaseNum) / float64(i.TimeBaseDen)
}

// PTS converts seconds to a timestamp of the video stream. Times beyond
// ±2^62 ticks (hundreds of years in any time base; a user's --start 1e20)
// saturate there instead of wrapping around, and NaN gives 0.
func (i *Info) PTS(sec float64) int64 {
	const limit = 1 << 62
	t := math.Round(sec * float64(i.TimeBaseDen) / float64(i.TimeBaseNum))
	switch {
	case math.IsNaN(t):
		return 0
	case t > limit:
		return limit
	case t < -limit:
		return -limit
	}
	return int64(t)
}

// input is an opened demuxer with its video stream found.
type input struct {
	fc    *astiav.FormatContext
	vs    *astiav.Stream
	info  Info
	close func()
}

func checkFile(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && strings.Contains(path, "%"):
		return fmt.Errorf("decode: open %s: %w (image sequences are not read: make a video of them with ffmpeg -i '%s' seq.mkv, or use vidnst images)", path, ErrNotFound, path)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("decode: open %s: %w", path, ErrNotFound)
	case err != nil:
		return fmt.Errorf("decode: open %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("decode: open %s: is a directory", path)
	case st.Size() == 0:
		return fmt.Errorf("decode: open %s: %w", path, ErrEmpty)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("decode: open %s: %w", path, err)
	}
	return f.Close()
}

func openInput(path string) (*input, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, errors.New("decode: alloc format context failed")
	}
	// The file: protocol named: a colon in the name would read as one.
	if err := fc.OpenInput("file:"+path, nil, nil); err != nil {
		fc.Free()
		return nil, fmt.Errorf("decode: open %s: %w (%v)", path, ErrNotMedia, err)
	}
	in := &input{fc: fc, close: func() { fc.CloseInput(); fc.Free() }}
	if err := fc.FindStreamInfo(nil); err != nil {
		in.close()
		return nil, fmt.Errorf("decode: open %s: %w (%v)", path, ErrNotMedia, err)
	}
	// The video, among the streams that are not attached pictures: the
	// one flagged default (a real video before a still-image stream:
	// FFmpeg writes cover art into Matroska as a PNG or JPEG track
	// without the attached-picture flag), else a real video, else the
	// first. Other real videos are counted for a note; still-image
	// streams passed over, as cover art.
	var all []*astiav.Stream
	covers := 0
	for _, s := range fc.Streams() {
		switch s.CodecParameters().MediaType() {
		case astiav.MediaTypeVideo:
			if attachedPic(s) {
				covers++
			} else {
				all = append(all, s)
			}
		case astiav.MediaTypeAudio:
			in.info.HasAudio = true
		}
	}
	still := func(s *astiav.Stream) bool { return stillCodec(s.CodecParameters().CodecID()) }
	pick := func(ok func(*astiav.Stream) bool) {
		for _, s := range all {
			if in.vs == nil && ok(s) {
				in.vs = s
			}
		}
	}
	pick(func(s *astiav.Stream) bool { return defaultStream(s) && !still(s) })
	pick(defaultStream)
	pick(func(s *astiav.Stream) bool { return !still(s) })
	pick(func(*astiav.Stream) bool { return true })
	for _, s := range all {
		switch {
		case s == in.vs:
		case still(s) && !still(in.vs):
			covers++
		default:
			in.info.OtherVideo++
		}
	}
	in.info.Covers = covers
	if in.vs == nil {
		in.close()
		return nil, fmt.Errorf("decode: %s: %w", path, ErrNoVideo)
	}
	in.fillInfo(path)
	if in.info.Width <= 0 || in.info.Height <= 0 {
		// e.g. animated WebP, which FFmpeg 5.1 cannot decode
		codec := in.info.Codec
		in.close()
		return nil, fmt.Errorf("decode: open %s: %w (its %s video has no frame size this FFmpeg can decode)", path, ErrNotMedia, codec)
	}
	return in, nil
}

func (in *input) fillInfo(path string) {
	s, cp := in.vs, in.vs.CodecParameters()
	i := &in.info
	i.Path = path
	i.Streams = in.fc.NbStreams()
	if f := in.fc.InputFormat(); f != nil {
		i.Format = f.Name()
	}
	if d := astiav.FindDecoder(cp.CodecID()); d != nil {
		i.Codec = d.Name()
	}
	i.PixFmt = pixFmtName(cp.PixelFormat())
	i.Width, i.Height = cp.Width(), cp.Height()
	tb := s.TimeBase()
	i.TimeBaseNum, i.TimeBaseDen = tb.Num(), tb.Den()
	fr := s.AvgFrameRate()
	if fr.Num() <= 0 || fr.Den() <= 0 {
		fr = s.RFrameRate()
	}
	if fr.Num() > 0 && fr.Den() > 0 {
		i.FrameRateNum, i.FrameRateDen = fr.Num(), fr.Den()
	}
	if br := s.RFrameRate(); br.Num() > 0 && br.Den() > 0 {
		i.BaseRateNum, i.BaseRateDen = br.Num(), br.Den()
	}
	// The container's pixel aspect ratio (MP4 pasp, Matroska's display
	// size) wins over the codec's, as in FFmpeg (a remux with -aspect
	// sets only the container's).
	sar := s.SampleAspectRatio()
	if sar.Num() <= 0 || sar.Den() <= 0 {
		sar = cp.SampleAspectRatio()
	}
	if sar.Num() > 0 && sar.Den() > 0 {
		i.SARNum, i.SARDen = sar.Num(), sar.Den()
	} else {
		i.SARNum, i.SARDen = 1, 1
	}
	i.StartPTS = s.StartTime()
	if i.StartPTS == astiav.NoPtsValue {
		i.StartPTS = 0
	}
	if st := in.fc.StartTime(); st != astiav.NoPtsValue {
		i.StartSec = float64(st) / 1e6
	}
	if d := s.Duration(); d > 0 && d != astiav.NoPtsValue {
		i.Duration = float64(d) * tb.Float64()
	} else if d := in.fc.Duration(); d > 0 {
		i.Duration = float64(d) / 1e6
	}
	i.FrameCount = s.NbFrames()
	if i.FrameCount <= 0 && fr.Num() > 0 {
		i.FrameCount = int64(math.Round(i.Duration * fr.Float64()))
	}
	i.Rotation = rotation(s)
	if f := i.Format; i.Rotation == 0 && cp.CodecID() == astiav.CodecIDMjpeg && (f == "image2" || f == "jpeg_pipe") {
		i.Rotation = exifRotation(path) // a photo taken sideways
	}
	i.DisplayWidth, i.DisplayHeight = i.Width, i.Height
	sw := i.Width
	// Pictures are shown with square pixels whatever their pHYs says
	// (image viewers ignore it).
	if i.SARNum != i.SARDen && !stillCodec(cp.CodecID()) {
		sw = max(1, int(math.Round(float64(i.Width)*float64(i.SARNum)/float64(i.SARDen))))
	}
	i.SquareWidth, i.SquareHeight = sw, i.Height
	if i.Rotation == 90 || i.Rotation == 270 {
		i.DisplayWidth, i.DisplayHeight = i.Height, i.Width
		i.SquareWidth, i.SquareHeight = i.Height, sw
	}
	i.FullRange = cp.ColorRange() == astiav.ColorRangeJpeg || strings.HasPrefix(i.PixFmt, "yuvj")
	i.Matrix, i.MatrixGuessed = matrixName(cp.ColorSpace(), i.Height)
	i.Primaries = primariesName(cp.ColorPrimaries())
	i.Transfer = transferName(cp.ColorTransferCharacteristic())
	i.BitDepth = pixFmtDepth(cp.PixelFormat())
	i.Alpha = pixFmtAlpha(cp.PixelFormat())
	i.FieldOrder = fieldOrderName(cp)
	i.Index = s.Index()
}

// stillCodec reports whether id is a still-image codec (what cover art
// and thumbnails are stored in).
func stillCodec(id astiav.CodecID) bool {
	switch id {
	case astiav.CodecIDPng, astiav.CodecIDMjpeg, astiav.CodecIDBmp, astiav.CodecIDTiff, astiav.CodecIDWebp, astiav.CodecIDGif:
		return true
	}
	return false
}

// rotation reads the stream's display matrix: the clockwise angle by which
// the stored picture must be turned to display it upright.
func rotation(s *astiav.Stream) int {
	b := s.SideData(astiav.PacketSideDataTypeDisplaymatrix)
	if len(b) < 36 {
		return 0
	}
	m, err := astiav.NewDisplayMatrixFromBytes(b)
	if err != nil {
		return 0
	}
	// astiav's Rotation is -av_display_rotation_get: the clockwise angle
	// FFmpeg's CLI turns the picture by (its get_rotation).
	r := int(math.Round(m.Rotation()))
	r = ((r % 360) + 360) % 360
	switch {
	case r >= 45 && r < 135:
		return 90
	case r >= 135 && r < 225:
		return 180
	case r >= 225 && r < 315:
		return 270
	}
	return 0
}

func matrixName(cs astiav.ColorSpace, h int) (string, bool) {
	switch cs {
	case astiav.ColorSpaceBt709:
		return "bt709", false
	case astiav.ColorSpaceBt470Bg, astiav.ColorSpaceSmpte170M:
		return "bt601", false
	case astiav.ColorSpaceSmpte240M:
		return "smpte240m", false
	case astiav.ColorSpaceBt2020Ncl, astiav.ColorSpaceBt2020Cl:
		return "bt2020", false
	}
	// Untagged: what players assume.
	if h >= 720 {
		return "bt709", true
	}
	return "bt601", true
}

// Probe opens path, reads its stream information and closes it.
func Probe(path string) (*Info, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	info := in.info
	still := stillCodec(in.vs.CodecParameters().CodecID())
	in.close()
	if info.FieldOrder == "" && !still {
		// The stream does not say (DV in AVI or raw): its first frame
		// does, by its flags.
		_ = scan(path, nil, func(r *Reader, _ *frame.Frame) bool {
			info.FieldOrder = r.firstField
			return false
		})
	}
	return &info, nil
}

// Options configure a Reader.
type Options struct {
	// Width, Height: the processing size frames are scaled to (upright).
	// Zero means the display size.
	Width, Height int
	// Threads for the decoder (0 = FFmpeg's choice).
	Threads int
	// Ranged selects frames by timestamp: those before StartPTS are decoded
	// and dropped (after a seek to the keyframe at or before StartPTS), and
	// decoding stops at the first frame at or after EndPTS (EndPTS 0: to the
	// end).
	Ranged           bool
	StartPTS, EndPTS int64
	// NoSeek decodes from the start instead of seeking (for tests that
	// compare the two).
	NoSeek bool
	// Index, when given (ReadIndex of the same file), lets a ranged Open
	// seek to the byte position of the keyframe before StartPTS in
	// containers whose timestamp seek lands on any frame (MPEG-TS: a seek
	// there can start on a P-frame, and nothing decodes until the next
	// keyframe, after the range's start).
	Index *Index
	// HWAccel names a hardware decoder device type ("cuda" for NVDEC); ""
	// decodes on the CPU.
	HWAccel string
	// Deinterlace runs FFmpeg's bwdif over every frame before it is
	// scaled: one progressive frame per frame, timestamps kept. bwdif
	// reads the frames either side of each, so a ranged Open then starts
	// decoding before the frame ahead of StartPTS too, and a range's
	// frames equal the same frames of a whole decode.
	Deinterlace bool
}

// Reader decodes frames. It is used by one goroutine; Close frees its
// FFmpeg objects and is idempotent.
type Reader struct {
	in              *input
	dec             *astiav.CodecContext
	pkt             *astiav.Packet
	df, ff          *astiav.Frame
	sw              *astiav.Frame // hardware frames are downloaded into it
	hwPixFmt        astiav.PixelFormat
	graph           *astiav.FilterGraph
	src, sink       *astiav.FilterContext
	w, h            int
	opts            Options
	flushedDec      bool
	flushedGraph    bool
	eofDemux        bool
	packets, frames int64
	discarded       int64 // packets an edit list marks to discard
	// lastDTS is the last video packet's DTS, watched in containers with
	// timestamp discontinuities (MPEG-TS) for a reset; NoPtsValue before.
	lastDTS   int64
	tsDiscont bool
	lastTS    int64 // the last decoded frame's timestamp (frameTS)
	repeated  int   // frames left out by frameTS
	// graphW, graphH: the decoded size the filter graph was built for;
	// resized counts frames of another size (scaled to the processing
	// size all the same), firstResize is the first one's size.
	graphW, graphH int
	resized        int
	firstResize    [2]int
	// firstField is the first decoded frame's field order by its own
	// flags: "tt", "bb" or "progressive" ("" before it).
	firstField   string
	decodeErrors int
	closed       bool
	// transparent: the first frame has pixels less than opaque.
	transparent bool
	// keyFed, keyPTS, keyPos: the first keyframe packet was sent to the
	// decoder, its display time and byte position; keyOut: a frame was
	// delivered (startsAtKey codecs deliver nothing sent before that
	// keyframe). Until then packets before it or shown before it are not
	// counted (Dropped); after, timestamps that jump back do not matter.
	keyFed, keyOut bool
	keyPTS, keyPos int64
	// onFrame, when set, is told of every frame the Reader will deliver,
	// as it enters the filter graph (indexByDecoding).
	onFrame func(ts int64, key bool, pos int64)
	// conv converts the filtered frame into f.In in row bands, on
	// par.FrameWorkers of the frame size (the caller alone below 1 MP).
	conv    par.Runner
	kConv   func(lo, hi int)
	convDst []float32
}

// Open opens path for decoding at the size in opts.
func Open(path string, opts Options) (r *Reader, err error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	built := &Reader{in: in, opts: opts, lastDTS: astiav.NoPtsValue, lastTS: astiav.NoPtsValue, keyPTS: astiav.NoPtsValue, keyPos: -1,
		tsDiscont: in.fc.InputFormat().Flags().Has(astiav.IOFormatFlagTsDiscont)}
	r = built
	defer func() {
		if err != nil {
			// Not r: `return nil, err` has set it to nil by now.
			built.Close()
			r = nil
		}
	}()
	cp := in.vs.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, fmt.Errorf("decode: %s: %w %s", path, ErrNoDecoder, cp.CodecID())
	}
	if r.dec = astiav.AllocCodecContext(codec); r.dec == nil {
		return nil, errors.New("decode: alloc codec context failed")
	}
	if err := cp.ToCodecContext(r.dec); err != nil {
		return nil, fmt.Errorf("decode: codec parameters: %w", err)
	}
	if opts.Threads > 0 {
		r.dec.SetThreadCount(opts.Threads)
	}
	r.dec.SetTimeBase(in.vs.TimeBase())
	if opts.HWAccel != "" {
		if err := r.setupHW(codec, opts.HWAccel); err != nil {
			return nil, err
		}
	}
	if err := r.dec.Open(codec, nil); err != nil {
		return nil, fmt.Errorf("decode: open decoder %s: %w", codec.Name(), err)
	}
	r.pkt, r.df, r.ff = astiav.AllocPacket(), astiav.AllocFrame(), astiav.AllocFrame()
	r.w, r.h = opts.Width, opts.Height
	if r.w <= 0 || r.h <= 0 {
		r.w, r.h = in.info.DisplayWidth, in.info.DisplayHeight
	}
	r.kConv = r.convRows
	r.conv = par.New(par.FrameWorkers(r.w * r.h))
	if opts.Ranged && !opts.NoSeek && opts.StartPTS > in.info.StartPTS && (opts.Index == nil || !opts.Index.Untimed) {
		// Seek to the keyframe at or before the target; frames before it
		// are decoded and dropped in Next. A deinterlaced range needs the
		// frame before its first as well.
		target := opts.StartPTS
		if opts.Deinterlace {
			target--
		}
		if err := r.seek(target); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// seek positions the demuxer on the last keyframe shown at or before
// target, so that decoding from there delivers every frame from target
// on. A container's timestamp seek may find the keyframe by its decode
// time (MP4, FLV): with B-frames that can be a keyframe shown after
// target, and the frames between would be lost (or, in an open GOP, not
// decode). So each landing keyframe's display time is read, the seek made
// again to read from there, and while it is after target the seek goes
// further back (by the overshoot and a growing margin), to the stream's
// start at most.
func (r *Reader) seek(target int64) error {
	in := r.in
	vi := in.vs.Index()
	pos := keyframePos(in, r.opts.Index, target)
	do := func(t int64) error {
		if pos >= 0 && in.fc.SeekFrame(-1, pos, astiav.NewSeekFlags(astiav.SeekFlagByte)) == nil {
			return nil
		}
		pos = -1
		return in.fc.SeekFrame(vi, t, astiav.NewSeekFlags(astiav.SeekFlagBackward))
	}
	start := func() error { // decode from the first frame
		pos = -1
		if err := in.fc.SeekFrame(vi, in.info.StartPTS, astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
			if err := in.fc.SeekFrame(-1, 0, astiav.NewSeekFlags(astiav.SeekFlagByte)); err != nil {
				return fmt.Errorf("decode: seek to the start: %w", err)
			}
		}
		return nil
	}
	margin := max(1, in.info.FrameDurationTB())
	for t, try := target, 0; ; try++ {
		if err := do(t); err != nil {
			if try == 0 {
				return fmt.Errorf("decode: seek: %w", err)
			}
			return start() // before the first keyframe
		}
		shown, found := r.landing()
		if found && (shown == astiav.NoPtsValue || shown <= target) {
			if err := do(t); err != nil { // read from the landing point
				return fmt.Errorf("decode: seek: %w", err)
			}
			return nil
		}
		// Landed after target, or on no keyframe at all (after the last
		// one: an FLV without a keyframe index).
		pos = -1 // by time from now on
		if found {
			t -= shown - target
		}
		t -= margin << min(try, 20)
		if t <= in.info.StartPTS || try == 8 {
			return start()
		}
	}
}

// landing reads packets from where a seek left the demuxer up to the first
// video keyframe and returns its display time (NoPtsValue where it has
// none: the landing cannot be checked); found is false when there is no
// keyframe before the file's end (or for 4096 packets).
func (r *Reader) landing() (shown int64, found bool) {
	vi := r.in.vs.Index()
	for range 4096 {
		if err := r.in.fc.ReadFrame(r.pkt); err != nil {
			return 0, false
		}
		fl, pts := r.pkt.Flags(), r.pkt.Pts()
		video := r.pkt.StreamIndex() == vi && fl.Has(astiav.PacketFlagKey) && !fl.Has(astiav.PacketFlagDiscard)
		r.pkt.Unref()
		if video {
			return pts, true
		}
	}
	return 0, false
}

// beforeKey reports whether a packet or frame with display time ts comes
// before the stream's first keyframe: sent before it, or shown before it
// (an open GOP's leading frames).
func (r *Reader) beforeKey(ts int64) bool {
	return !r.keyFed || (r.keyPTS != astiav.NoPtsValue && ts != astiav.NoPtsValue && ts < r.keyPTS)
}

// outside reports whether a packet's or frame's timestamp ts is outside a
// ranged Reader's range. Dropped counts neither: what a seek decodes on
// the way to the start (open-GOP leading frames that cannot decode among
// it), and what the decoder still held when the range ended (which it may
// not give out after an open GOP's keyframe, on a flush).
func (r *Reader) outside(ts int64) bool {
	o := r.opts
	return o.Ranged && ts != astiav.NoPtsValue && (ts < o.StartPTS || (o.EndPTS > 0 && ts >= o.EndPTS))
}

// part reports whether the Reader reads a part of the stream (a range
// that does not start at its start or ends before its end).
func (r *Reader) part() bool {
	o := r.opts
	return o.Ranged && (o.StartPTS > r.in.info.StartPTS || o.EndPTS > 0)
}

// uncounted reports whether Dropped leaves a packet with display time ts
// out: one outside the range, and in a part of the stream one without a
// display time (it may be anywhere: AVI, MPEG-PS).
func (r *Reader) uncounted(ts int64) bool {
	return r.outside(ts) || (r.part() && ts == astiav.NoPtsValue)
}

// keyframePos is the byte position to seek to for pts: that of the last
// keyframe at or before it, from x, for containers with timestamp
// discontinuities (MPEG-TS, MPEG-PS), whose timestamp seek does not look
// for keyframes; -1 to seek by timestamp.
func keyframePos(in *input, x *Index, pts int64) int64 {
	fl := in.fc.InputFormat().Flags()
	if x == nil || len(x.Pos) != len(x.PTS) || !fl.Has(astiav.IOFormatFlagTsDiscont) || fl.Has(astiav.IOFormatFlagNoByteSeek) {
		return -1
	}
	for i := x.Find(pts + 1); i > 0; i-- {
		if k := i - 1; x.Keyframe[k] {
			return x.Pos[k] // -1 when unknown: seek by timestamp
		}
	}
	return -1
}

// Info describes the input.
func (r *Reader) Info() *Info { return &r.in.info }

// Size is the processing size of delivered frames.
func (r *Reader) Size() (w, h int) { return r.w, r.h }

// drain flushes the decoder when a range ends before the file does,
// counting the frames it still held (B-frame reordering and frame-thread
// delay): packets that did decode, which Dropped must not count.
func (r *Reader) drain() {
	if !r.flushedDec {
		r.flushedDec = true
		if err := r.dec.SendPacket(nil); err != nil {
			return
		}
	}
	for {
		err := r.dec.ReceiveFrame(r.df)
		if errors.Is(err, astiav.ErrEof) || errors.Is(err, astiav.ErrEagain) {
			return
		}
		if err != nil {
			r.decodeErrors++
			continue
		}
		if !r.outside(bestEffortTS(r.df)) {
			r.frames++
		}
		r.df.Unref()
	}
}

// Missing is, after Next returned io.EOF at the end of the file for a
// render from its first frame, how many video frames the container lists
// (its stream header's frame count, e.g. an MP4 index) beyond the packets
// that were there: a truncated file. 0 when the container gives no count,
// for ranges, and within a small tolerance (edit lists).
func (r *Reader) Missing() int {
	if !r.eofDemux || r.part() {
		return 0
	}
	n := r.in.vs.NbFrames() - r.discarded // the container counts the preroll too
	if n <= 0 || r.packets >= n-max(2, n/100) {
		return 0
	}
	return int(n - r.packets)
}

// Packets is the number of video packets read so far.
func (r *Reader) Packets() int { return int(r.packets) }

// Dropped is the number of video packets that gave no frame (corrupt data).
func (r *Reader) Dropped() int {
	d := int(r.packets - r.frames)
	if d < r.decodeErrors {
		d = r.decodeErrors
	}
	if d < 0 {
		return 0
	}
	return d
}

// setupHW attaches a hardware device to the decoder (NVDEC for "cuda").
func (r *Reader) setupHW(codec *astiav.Codec, name string) error {
	t := astiav.FindHardwareDeviceTypeByName(name)
	if t == astiav.HardwareDeviceTypeNone {
		return fmt.Errorf("decode: --hwaccel %s: %w: unknown device type", name, ErrHWAccel)
	}
	r.hwPixFmt = astiav.PixelFormatNone
	for _, c := range codec.HardwareConfigs() {
		if c.MethodFlags().Has(astiav.CodecHardwareConfigMethodFlagHwDeviceCtx) && c.HardwareDeviceType() == t {
			r.hwPixFmt = c.PixelFormat()
			break
		}
	}
	if r.hwPixFmt == astiav.PixelFormatNone {
		return fmt.Errorf("decode: --hwaccel %s: %w: the %s decoder has no %s support in this FFmpeg", name, ErrHWAccel, codec.Name(), name)
	}
	hw, err := astiav.CreateHardwareDeviceContext(t, "", nil)
	if err != nil {
		return fmt.Errorf("decode: --hwaccel %s: %w: no usable device (%v)", name, ErrHWAccel, err)
	}
	// The decoder takes a reference and unrefs it when freed.
	r.dec.SetHardwareDeviceContext(hw)
	want := r.hwPixFmt
	r.dec.SetPixelFormatCallback(func(pfs []astiav.PixelFormat) astiav.PixelFormat {
		for _, pf := range pfs {
			if pf == want {
				return pf
			}
		}
		return pfs[len(pfs)-1] // software fallback
	})
	r.sw = astiav.AllocFrame()
	return nil
}

// buildGraph builds the filter graph for frames like first, the first
// decoded (its size and pixel format).
func (r *Reader) buildGraph(first *astiav.Frame) error {
	pf := first.PixelFormat()
	i := &r.in.info
	var chain []string
	if r.opts.Deinterlace {
		// bwdif takes one frame size: a stream that changes size mid-way
		// is scaled to the first, field by field (interl=1), before it
		// (the scale passes frames of that size through as they are).
		// Each frame's flags say which field is first (filterDecoded
		// sets them where the frame says nothing). bwdif halves the time
		// base (for its field mode); settb puts the timestamps back in
		// the stream's.
		chain = append(chain, fmt.Sprintf("scale=w=%d:h=%d:interl=1", first.Width(), first.Height()),
			"bwdif=mode=send_frame:parity=auto:deint=all",
			fmt.Sprintf("settb=%d/%d", i.TimeBaseNum, i.TimeBaseDen))
	}
	switch i.Rotation {
	case 90:
		chain = append(chain, "transpose=clock")
	case 180:
		chain = append(chain, "hflip", "vflip")
	case 270:
		chain = append(chain, "transpose=cclock")
	}
	rng := "tv"
	if i.FullRange {
		rng = "pc"
	}
	chain = append(chain,
		fmt.Sprintf("scale=w=%d:h=%d:in_range=%s:in_color_matrix=%s:flags=bicubic+accurate_rnd+full_chroma_int", r.w, r.h, rng, i.Matrix),
		"format=gbrp")
	g, src, sink, err := newGraph(strings.Join(chain, ","), max(i.Width*i.Height, r.w*r.h), astiav.FilterArgs{
		"video_size":   strconv.Itoa(i.Width) + "x" + strconv.Itoa(i.Height),
		"pix_fmt":      strconv.Itoa(int(pf)),
		"time_base":    strconv.Itoa(i.TimeBaseNum) + "/" + strconv.Itoa(i.TimeBaseDen),
		"pixel_aspect": strconv.Itoa(i.SARNum) + "/" + strconv.Itoa(i.SARDen),
	})
	if err != nil {
		return err
	}
	r.graph, r.src, r.sink = g, src, sink
	return nil
}

func newGraph(desc string, pixels int, srcArgs astiav.FilterArgs) (g *astiav.FilterGraph, src, sink *astiav.FilterContext, err error) {
	built := astiav.AllocFilterGraph()
	if built == nil {
		return nil, nil, nil, errors.New("decode: alloc filter graph failed")
	}
	g = built
	defer func() {
		if err != nil {
			built.Free() // not g: `return nil, ...` has set it to nil
		}
	}()
	g.SetThreadCount(par.FrameWorkers(pixels))
	bsrc, bsink := astiav.FindFilterByName("buffer"), astiav.FindFilterByName("buffersink")
	if bsrc == nil || bsink == nil {
		return nil, nil, nil, fmt.Errorf("decode: buffer/buffersink: %w", errGraphMissing)
	}
	if src, err = g.NewFilterContext(bsrc, "in", srcArgs); err != nil {
		return nil, nil, nil, fmt.Errorf("decode: filter source: %w", err)
	}
	if sink, err = g.NewFilterContext(bsink, "out", nil); err != nil {
		return nil, nil, nil, fmt.Errorf("decode: filter sink: %w", err)
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
		return nil, nil, nil, fmt.Errorf("decode: filter graph %q: %w", desc, err)
	}
	if err = g.Configure(); err != nil {
		return nil, nil, nil, fmt.Errorf("decode: filter graph %q: %w", desc, err)
	}
	return g, src, sink, nil
}

// Next decodes the next frame into f (which must be of the processing
// size): f.In, f.PTS, f.Duration. It returns io.EOF after the last frame of
// the range. The caller keeps ownership of f.
func (r *Reader) Next(ctx context.Context, f *frame.Frame) error {
	if f.W != r.w || f.H != r.h {
		return fmt.Errorf("decode: frame is %dx%d, reader delivers %dx%d", f.W, f.H, r.w, r.h)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// 1. A filtered frame ready?
		var err error = astiav.ErrEagain
		if r.graph != nil {
			err = r.sink.BuffersinkGetFrame(r.ff, astiav.NewBuffersinkFlags())
		}
		if err == nil {
			pts := r.ff.Pts()
			if r.opts.Ranged && pts < r.opts.StartPTS {
				r.ff.Unref()
				continue
			}
			if r.opts.Ranged && r.opts.EndPTS > 0 && pts >= r.opts.EndPTS {
				r.ff.Unref()
				r.drain()
				return io.EOF
			}
			f.PTS = pts
			f.Duration = frameDuration(r.ff)
			r.convDst = f.In
			r.conv.Run(r.h, r.kConv)
			r.convDst = nil
			r.ff.Unref()
			return nil
		}
		if errors.Is(err, astiav.ErrEof) {
			return io.EOF
		}
		if !errors.Is(err, astiav.ErrEagain) {
			return fmt.Errorf("decode: filter: %w", err)
		}
		// 2. A decoded frame to filter?
		err = r.dec.ReceiveFrame(r.df)
		if err == nil {
			if err := r.filterDecoded(); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, astiav.ErrEof) {
			if r.graph == nil {
				return io.EOF // no frame at all
			}
			if r.flushedGraph {
				return io.EOF
			}
			r.flushedGraph = true
			if err := r.src.BuffersrcAddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
				return fmt.Errorf("decode: filter flush: %w", err)
			}
			continue
		}
		if !errors.Is(err, astiav.ErrEagain) {
			// A corrupt frame: count it and go on with what decodes.
			r.decodeErrors++
			continue
		}
		// 3. Feed the decoder.
		if err := r.feed(); err != nil {
			return err
		}
	}
}

// frameTS is the timestamp a decoded frame is delivered with, and whether
// to deliver it: its own; one frame after the last where the stream has
// none (raw .h264/.hevc files; the first at the stream's start); and a
// frame whose timestamp repeats or goes back on the last one is left out
// (no encoder takes it, and shifting it would shift every later frame
// off its audio), as FFmpeg's -vsync vfr does; Repeated counts them.
func (r *Reader) frameTS(ts int64) (int64, bool) {
	switch {
	case ts == astiav.NoPtsValue && r.lastTS == astiav.NoPtsValue:
		ts = r.in.info.StartPTS
	case ts == astiav.NoPtsValue:
		ts = r.lastTS + max(1, r.in.info.FrameDurationTB())
	case r.lastTS != astiav.NoPtsValue && ts <= r.lastTS:
		r.repeated++
		return 0, false
	}
	r.lastTS = ts
	return ts, true
}

// Resized is the number of frames so far whose decoded size differs from
// the first frame's (a stream that changes size mid-way), and the first
// such size. They are scaled to the processing size like the others, so
// a different aspect ratio is stretched.
func (r *Reader) Resized() (n, w, h int) { return r.resized, r.firstResize[0], r.firstResize[1] }

// Transparent reports whether the first decoded frame has pixels that are
// less than fully opaque (frames are delivered without their alpha).
func (r *Reader) Transparent() bool { return r.transparent }

// scan decodes path at a tiny size (the pictures are not wanted, what the
// Reader learns of them is) and calls each (when not nil) after every
// frame delivered, until it returns false or the stream ends. setup, when
// not nil, gets the Reader before the first frame.
func scan(path string, setup func(*Reader), each func(*Reader, *frame.Frame) bool) error {
	r, err := Open(path, Options{Width: 16, Height: 16})
	if err != nil {
		return err
	}
	defer r.Close()
	if setup != nil {
		setup(r)
	}
	f := frame.New(16, 16)
	for {
		err := r.Next(context.Background(), f)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if each != nil && !each(r, f) {
			return nil
		}
	}
}

// Repeated is the number of decoded frames left out so far for a timestamp
// at or before the one before them (see frameTS).
func (r *Reader) Repeated() int { return r.repeated }

// filterDecoded counts r.df as a decoded frame of the file (unless sent
// before its first keyframe, or outside the range) and passes it
// (downloaded from the GPU first when hardware decoded) into the filter
// graph, building it on the first frame.
func (r *Reader) filterDecoded() error {
	src := r.df
	defer r.df.Unref()
	bts := bestEffortTS(r.df)
	if !r.keyOut && startsAtKey(r.in.vs.CodecParameters().CodecID()) {
		// Sent before the stream's first keyframe (a capture cut
		// mid-GOP): what the decoder makes of it is no picture of the
		// file. (Leading frames sent after it and shown before it are the
		// decoder's to give or drop: it drops those that cannot decode.)
		// (A frame's packet position travels with it through the
		// decoder's reordering; its packet decode time does not.)
		pos := pktPos(r.df)
		if !r.keyFed && keyFrame(r.df) { // a container that flags no packet: the decoder's word
			r.keyFed, r.keyPTS, r.keyPos = true, bts, pos
		}
		if !r.keyFed || (r.keyPos >= 0 && pos >= 0 && pos < r.keyPos) {
			return nil // not counted, and not corrupt either
		}
	}
	if !r.outside(bts) {
		r.frames++
	}
	ts, ok := r.frameTS(bts)
	if !ok {
		return nil
	}
	if !r.keyOut && r.keyPTS != astiav.NoPtsValue && ts < r.keyPTS && !r.outside(ts) {
		r.packets++ // a leading frame that decoded: its packet went uncounted (feed)
	}
	r.keyOut = true // (for every codec: the start is behind)
	if r.onFrame != nil {
		r.onFrame(ts, keyFrame(r.df), pktPos(r.df))
	}
	if r.sw != nil && r.df.PixelFormat() == r.hwPixFmt {
		if err := r.df.TransferHardwareData(r.sw); err != nil {
			return fmt.Errorf("decode: download hardware frame: %w", err)
		}
		// The download copies pixels only: the flags (interlacing, field
		// order) and duration come with the frame's properties.
		if err := copyProps(r.sw, r.df); err != nil {
			return fmt.Errorf("decode: download hardware frame: %w", err)
		}
		r.sw.SetPts(ts)
		src = r.sw
		defer r.sw.Unref()
	} else {
		r.df.SetPts(ts)
	}
	if r.firstField == "" {
		r.transparent = r.in.info.Alpha && transparent(src)
		r.firstField = "progressive"
		if frameInterlaced(src) {
			r.firstField = map[bool]string{true: "tt", false: "bb"}[frameTFF(src)]
		}
	}
	if top, ok := r.in.info.TopFirst(); ok && r.opts.Deinterlace && !frameInterlaced(src) {
		// A frame that does not say which field is first gets the
		// stream's order (bwdif would take it as top first), frame by
		// frame, so a range's frames are a whole decode's.
		setInterlaced(src, top)
	}
	if r.graph == nil {
		if err := r.buildGraph(src); err != nil {
			return err
		}
		r.graphW, r.graphH = src.Width(), src.Height()
	}
	if w, h := src.Width(), src.Height(); w != r.graphW || h != r.graphH {
		if r.resized == 0 {
			r.firstResize = [2]int{w, h}
		}
		r.resized++
	}
	if err := r.src.BuffersrcAddFrame(src, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return fmt.Errorf("decode: filter input: %w", err)
	}
	return nil
}

// feed sends the next video packet (or the flush packet at the end) to the
// decoder.
func (r *Reader) feed() error {
	for {
		if r.eofDemux {
			if r.flushedDec {
				// The decoder reported EAGAIN after a flush; should not
				// happen.
				return io.ErrUnexpectedEOF
			}
			r.flushedDec = true
			if err := r.dec.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
				return fmt.Errorf("decode: flush decoder: %w", err)
			}
			return nil
		}
		err := r.in.fc.ReadFrame(r.pkt)
		if err != nil {
			// EOF, or a truncated/corrupt file: decode what we have.
			r.eofDemux = true
			continue
		}
		if r.pkt.StreamIndex() != r.in.vs.Index() {
			r.pkt.Unref()
			continue
		}
		if !r.keyFed && r.pkt.Flags().Has(astiav.PacketFlagKey) {
			r.keyFed, r.keyPTS, r.keyPos = true, r.pkt.Pts(), r.pkt.Pos()
		}
		if r.pkt.Flags().Has(astiav.PacketFlagDiscard) { // an edit list's preroll gives no frame
			r.discarded++
		} else if !r.uncounted(r.pkt.Pts()) && (r.keyOut || !r.beforeKey(r.pkt.Pts())) {
			r.packets++ // (what comes before the first keyframe is no frame of the file)
		}
		if r.tsDiscont {
			if err := r.checkReset(); err != nil {
				r.pkt.Unref()
				return err
			}
		}
		err = r.dec.SendPacket(r.pkt)
		r.pkt.Unref()
		if err != nil && !errors.Is(err, astiav.ErrEagain) {
			r.decodeErrors++
			continue
		}
		return nil
	}
}

// checkReset fails on a video DTS more than a second before the last one:
// a timestamp reset, which FFmpeg's demuxer passes on and no muxer takes.
// (FFmpeg's CLI offsets the timestamps after it; remuxing with it first
// gives a file vidnst reads.)
func (r *Reader) checkReset() error {
	d := r.pkt.Dts()
	if d == astiav.NoPtsValue {
		return nil
	}
	tb := r.in.vs.TimeBase()
	if r.lastDTS != astiav.NoPtsValue && float64(r.lastDTS-d)*tb.Float64() > 1 {
		return fmt.Errorf("decode: %w at %.3fs (back to %.3fs); remux it first: ffmpeg -i IN -c copy OUT.mkv", ErrTSReset,
			r.in.info.Seconds(r.lastDTS-r.in.info.StartPTS), r.in.info.Seconds(d-r.in.info.StartPTS))
	}
	r.lastDTS = d
	return nil
}

// toPlanar converts a gbrp frame into planar RGB float32 (R, G, B planes).
func toPlanar(dst []float32, f *astiav.Frame, w, h, lo, hi int) {
	n := w * h
	// gbrp planes: 0 = G, 1 = B, 2 = R.
	order := [3]int{2, 0, 1} // dst plane c comes from gbrp plane order[c]
	for c := 0; c < 3; c++ {
		src, ls := plane(f, order[c], h)
		d := dst[c*n : (c+1)*n : (c+1)*n]
		for y := lo; y < hi; y++ {
			pix.Widen(d[y*w:y*w+w:y*w+w], src[y*ls:y*ls+w:y*ls+w])
		}
	}
}

func (r *Reader) convRows(lo, hi int) { toPlanar(r.convDst, r.ff, r.w, r.h, lo, hi) }

// Close frees the decoder, filter graph and demuxer. Idempotent.
func (r *Reader) Close() error {
	if r == nil || r.closed {
		return nil
	}
	r.closed = true
	r.conv.Close()
	if r.graph != nil {
		r.graph.Free()
	}
	if r.ff != nil {
		r.ff.Free()
	}
	if r.sw != nil {
		r.sw.Free()
	}
	if r.df != nil {
		r.df.Free()
	}
	if r.pkt != nil {
		r.pkt.Free()
	}
	if r.dec != nil {
		r.dec.Free()
	}
	r.in.close()
	return nil
}

// Index lists the video stream's frames from the container's packets
// (demuxing only, no decoding): presentation timestamps in display order and
// which frames are keyframes.
type Index struct {
	PTS      []int64 // sorted
	Keyframe []bool  // Keyframe[i]: frame i (in PTS order) starts a GOP
	Pos      []int64 // Pos[i]: byte position of frame i's packet (-1 unknown)
	// Untimed: the stream's packets do not carry its frames' display
	// times: a raw .h264/.hevc file stores none, an AVI decode times only,
	// MPEG-PS leaves some out. PTS are then the ones the Reader gives its
	// frames (one frame apart from the stream's start in a raw file; the
	// decoder's guesses otherwise, indexByDecoding), and a ranged Open
	// decodes from the start instead of seeking (a seek by those times
	// could land after the range's start, unseen).
	Untimed bool
}

// Keyframes returns the indices of keyframes.
func (x *Index) Keyframes() []int {
	var ks []int
	for i, k := range x.Keyframe {
		if k {
			ks = append(ks, i)
		}
	}
	return ks
}

// Find returns the index of the first frame with PTS >= pts (len(PTS) if
// none).
func (x *Index) Find(pts int64) int {
	lo, hi := 0, len(x.PTS)
	for lo < hi {
		m := (lo + hi) / 2
		if x.PTS[m] < pts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// leadingFrames decodes path from its start up to its first frame shown
// at or after first (the first keyframe's display time) and returns the
// display times of the frames before it that a Reader delivers.
func leadingFrames(path string, first int64) (map[int64]bool, error) {
	given := map[int64]bool{}
	err := scan(path, nil, func(_ *Reader, f *frame.Frame) bool {
		if f.PTS >= first {
			return false
		}
		given[f.PTS] = true
		return len(given) < 1024
	})
	return given, err
}

// startsAtKey reports whether a Reader of codec id delivers nothing before
// the first frame the decoder marks a keyframe: HEVC and MPEG-2, whose
// decoders give (broken) frames for a stream cut mid-GOP. (H.264's gives
// none; its keyframe marks are not reliable enough to wait for.)
func startsAtKey(id astiav.CodecID) bool {
	return id == astiav.CodecIDHevc || id == astiav.CodecIDMpeg2Video
}

// indexByDecoding lists path's frames as a Reader delivers them (their
// timestamps, keyframe flags and packet positions), decoding the whole
// stream at a tiny size: for streams whose packets do not carry display
// times (AVI holds decode times only; MPEG-PS leaves the B-frames'
// out), where numbering the packets would not number the frames a decode
// gives. untimed marks the Index Untimed (its keyframes carry no display
// time either, so a seek could not be checked).
func indexByDecoding(path string, untimed bool) (*Index, error) {
	x := &Index{Untimed: untimed}
	err := scan(path, func(r *Reader) {
		r.onFrame = func(ts int64, key bool, pos int64) {
			x.PTS = append(x.PTS, ts)
			x.Keyframe = append(x.Keyframe, key || len(x.PTS) == 1)
			x.Pos = append(x.Pos, pos)
		}
	}, nil)
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ReadIndex scans path's video packets (and, where they do not all carry
// display times, decodes them: indexByDecoding).
func ReadIndex(path string) (*Index, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.close()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	type ent struct {
		pts, dts, pos int64
		key, preKey   bool // preKey: before the stream's first keyframe
	}
	var es []ent
	untimed := 0                         // packets with neither PTS nor DTS
	dtsOnly := 0                         // packets with a DTS only
	keyNoPTS := 0                        // keyframe packets with no PTS
	keyed := false                       // a keyframe packet was seen
	firstKey := int64(astiav.NoPtsValue) // its display time
	vi := in.vs.Index()
	for {
		if err := in.fc.ReadFrame(pkt); err != nil {
			break
		}
		// Packets an edit list marks to discard (the preroll of an MP4 cut
		// with ffmpeg -ss ... -c copy) decode into no delivered frame:
		// they are not frames of the file.
		// (A discarded preroll's keyframe is decoded all the same: the
		// frames after it are frames.)
		key := pkt.StreamIndex() == vi && pkt.Flags().Has(astiav.PacketFlagKey)
		if key && !keyed {
			firstKey = pkt.Pts()
		}
		keyed = keyed || key
		if pkt.StreamIndex() == vi && !pkt.Flags().Has(astiav.PacketFlagDiscard) {
			pts := pkt.Pts()
			if pts == astiav.NoPtsValue {
				if key {
					keyNoPTS++
				}
				pts = pkt.Dts()
				if pts != astiav.NoPtsValue {
					dtsOnly++
				}
			}
			if pts != astiav.NoPtsValue {
				es = append(es, ent{pts, pkt.Dts(), pkt.Pos(), key, !keyed})
			} else {
				untimed++
			}
		}
		pkt.Unref()
	}
	if n := len(es) + untimed; dtsOnly > 0 && dtsOnly*10 >= n && videoDelay(in.vs.CodecParameters()) > 0 {
		// Decode times are not display times (B-frames), and the
		// decoder's guess from them is what the frames get: list those.
		// (Where a few packets only lack a display time, the packets
		// number the frames well enough; without B-frames decode times
		// are display times.) Where keyframes carry no display time
		// (AVI), a seek cannot be checked: such an index is Untimed, and
		// its ranges decode from the start.
		return indexByDecoding(path, keyNoPTS > 0)
	}
	if len(es) == 0 && untimed > 0 {
		// A raw stream: its frames are numbered as the Reader times them
		// (frameTS); only the first is known to start a GOP.
		d := max(1, in.info.FrameDurationTB())
		x := &Index{PTS: make([]int64, untimed), Keyframe: make([]bool, untimed), Pos: make([]int64, untimed), Untimed: true}
		for i := range untimed {
			x.PTS[i], x.Pos[i] = in.info.StartPTS+int64(i)*d, -1
		}
		x.Keyframe[0] = true
		return x, nil
	}
	// Nothing before the stream's first keyframe is a frame of the file (a
	// capture that starts mid-GOP): H.264 decodes nothing of it, and the
	// Reader delivers nothing of it where the decoder would (startsAtKey),
	// nor the leading frames shown before that keyframe (an open GOP's,
	// which cannot decode).
	if id := in.vs.CodecParameters().CodecID(); keyed && (id == astiav.CodecIDH264 || startsAtKey(id)) {
		es = slices.DeleteFunc(es, func(e ent) bool { return e.preKey })
		// Leading frames (sent after the first keyframe, shown before it)
		// decode or not as the decoder finds (an open GOP's cannot; HEVC's
		// RADL and MPEG-2's closed-GOP ones can): the start is decoded
		// to see which it gives.
		if firstKey != astiav.NoPtsValue && slices.ContainsFunc(es, func(e ent) bool { return e.pts < firstKey }) {
			given, err := leadingFrames(path, firstKey)
			if err != nil {
				return nil, err
			}
			es = slices.DeleteFunc(es, func(e ent) bool { return e.pts < firstKey && !given[e.pts] })
		}
	}
	slices.SortStableFunc(es, func(a, b ent) int { return cmp.Compare(a.pts, b.pts) })
	// Packets that share a display time and no decode time of their own
	// (a rate finer than the container's clock: 1500 fps in Matroska's
	// milliseconds) give one frame, as the Reader leaves the repeats out
	// (frameTS): one entry, a keyframe if any of them is. With decode
	// times that differ (MP4), the decoder times them apart: both listed.
	x := &Index{PTS: make([]int64, 0, len(es)), Keyframe: make([]bool, 0, len(es)), Pos: make([]int64, 0, len(es))}
	lastDTS := int64(astiav.NoPtsValue)
	for _, e := range es {
		if k := len(x.PTS) - 1; k >= 0 && x.PTS[k] == e.pts && (e.dts == astiav.NoPtsValue || e.dts == lastDTS) {
			x.Keyframe[k] = x.Keyframe[k] || e.key
			continue
		}
		x.PTS, x.Keyframe, x.Pos = append(x.PTS, e.pts), append(x.Keyframe, e.key), append(x.Pos, e.pos)
		lastDTS = e.dts
	}
	return x, nil
}
