package encode

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"
)

// copier carries the input's non-video streams into the output: it reads
// them from its own demuxer, in step with the video packets so the output
// stays interleaved, and copies each packet (or transcodes it when the
// container cannot hold the codec, or when asked to).
type copier struct {
	w        *Writer
	in       *astiav.FormatContext
	pkt      *astiav.Packet
	peeked   bool
	eof      bool
	streams  map[int]*copyStream
	left     []string // streams the container cannot hold, left out
	notes    []string // what a transcode changed (a downmix)
	cut      bool     // a range start is set: packets before startSec are dropped
	startSec float64  // range start (input seconds)
	endSec   float64  // range end (input seconds); <= 0: to the end
	shiftSec float64  // subtracted from every timestamp (rebase)
}

type copyStream struct {
	in, out *astiav.Stream
	shift   int64 // in the input stream's time base
	tr      *transcoder
	// lastDTS is the last DTS passed on (input time base); an audio packet
	// at or before it, a subtitle one before it (where two recordings were
	// joined) is dropped, since muxers such as MP4's refuse it. NoPtsValue
	// before.
	lastDTS int64
	dropped int
}

func newCopier(w *Writer, o Options) (c *copier, err error) {
	vtb := astiav.NewRational(o.TimeBaseNum, o.TimeBaseDen)
	built := &copier{w: w, streams: map[int]*copyStream{}}
	c = built
	defer func() {
		if err != nil {
			built.close() // not c: `return nil, err` has set it to nil
		}
	}()
	c.in = astiav.AllocFormatContext()
	if err := c.in.OpenInput(fileURL(o.Input), nil, nil); err != nil {
		c.in.Free()
		c.in = nil
		return nil, fmt.Errorf("encode: open %s for its audio: %w", o.Input, err)
	}
	if err := c.in.FindStreamInfo(nil); err != nil {
		return nil, fmt.Errorf("encode: read %s: %w", o.Input, err)
	}
	c.pkt = astiav.AllocPacket()
	if o.StartPTS > 0 {
		c.cut = true
		c.startSec = float64(o.StartPTS) * vtb.Float64()
	}
	if o.EndPTS > 0 {
		c.endSec = float64(o.EndPTS) * vtb.Float64()
	}
	if o.Rebase {
		c.shiftSec = c.startSec
	}
	c.shiftSec += o.ShiftSec
	copyFormatMetadata(w.out, c.in)
	if w.vs != nil {
		var src *astiav.Stream
		for _, s := range c.in.Streams() {
			if s.CodecParameters().MediaType() != astiav.MediaTypeVideo {
				continue
			}
			if src == nil || s.Index() == o.VideoStream {
				src = s
			}
		}
		if src != nil {
			copyVideoTags(w.vs, src)
		}
	}
	endUS := int64(0)
	if c.endSec > 0 {
		endUS = int64(c.endSec * 1e6)
	}
	if err := copyChapters(w.out, c.in, int64(c.shiftSec*1e6), endUS); err != nil {
		return nil, fmt.Errorf("encode: chapters: %w", err)
	}
	for _, s := range c.in.Streams() {
		cp := s.CodecParameters()
		mt := cp.MediaType()
		if mt == astiav.MediaTypeAttachment {
			// Attached files (fonts an ASS subtitle needs; image ones come
			// as cover art, a video stream): Matroska keeps them; they
			// have no packets.
			if w.out.OutputFormat().Name() == "matroska" {
				out := w.out.NewStream(nil)
				if out == nil {
					return nil, errors.New("encode: new stream failed")
				}
				if err := cp.Copy(out.CodecParameters()); err != nil {
					return nil, fmt.Errorf("encode: copy attachment: %w", err)
				}
				copyStreamMetadata(out, s)
			} else {
				c.left = append(c.left, fmt.Sprintf("attachment %d (%s)", s.Index(), attachmentName(s)))
			}
			continue
		}
		if mt != astiav.MediaTypeAudio && mt != astiav.MediaTypeSubtitle {
			continue
		}
		if mt == astiav.MediaTypeAudio && o.Audio == "none" {
			continue
		}
		if videoOnly[w.out.OutputFormat().Name()] && (mt == astiav.MediaTypeSubtitle || o.Audio == "copy") {
			// Raw streams hold the video alone: "copy" keeps what the
			// container can hold, and says what it could not.
			c.left = append(c.left, fmt.Sprintf("%s stream %d (%s)", mt, s.Index(), cp.CodecID()))
			continue
		}
		cs := &copyStream{in: s, shift: astiav.RescaleQ(int64(c.shiftSec*1e6), astiav.NewRational(1, 1000000), s.TimeBase()), lastDTS: astiav.NoPtsValue}
		transcode := mt == astiav.MediaTypeAudio && (o.Audio == "aac" || o.Audio == "opus")
		accepts := audioAccepted
		if mt == astiav.MediaTypeSubtitle {
			accepts = subtitleAccepted
		}
		if !transcode && !accepts(w.out, cp.CodecID()) {
			if mt == astiav.MediaTypeSubtitle {
				// Subtitles the container cannot hold are left out (and
				// reported).
				c.left = append(c.left, fmt.Sprintf("subtitle stream %d (%s)", s.Index(), cp.CodecID()))
				continue
			}
			transcode = true
		}
		if transcode {
			if cs.tr, err = newTranscoder(w, s, o); err != nil {
				return nil, err
			}
			if cs.tr.note != "" {
				c.notes = append(c.notes, fmt.Sprintf("audio stream %d: %s", s.Index(), cs.tr.note))
			}
			cs.out = cs.tr.out
		} else {
			cs.out = w.out.NewStream(nil)
			if cs.out == nil {
				return nil, errors.New("encode: new stream failed")
			}
			if err := cp.Copy(cs.out.CodecParameters()); err != nil {
				return nil, fmt.Errorf("encode: copy stream parameters: %w", err)
			}
			cs.out.CodecParameters().SetCodecTag(0)
			cs.out.SetTimeBase(s.TimeBase())
		}
		copyStreamMetadata(cs.out, s)
		c.streams[s.Index()] = cs
	}
	if len(c.streams) == 0 {
		return c, nil
	}
	if c.startSec > 0 {
		// Start reading near the range: seek to the keyframe at or before,
		// and with subtitles a while before that, for a cue that began
		// earlier and is still on screen at the start.
		from := c.startSec
		for _, cs := range c.streams {
			if cs.in.CodecParameters().MediaType() == astiav.MediaTypeSubtitle {
				from = max(0, c.startSec-subtitleLookBack)
				break
			}
		}
		_ = c.in.SeekFrame(-1, int64(from*1e6), astiav.NewSeekFlags(astiav.SeekFlagBackward))
	}
	return c, nil
}

// pumpUntil writes the copied streams' packets up to time t (output
// seconds).
func (c *copier) pumpUntil(t float64) error {
	if len(c.streams) == 0 {
		return nil
	}
	for !c.eof {
		if !c.peeked {
			if err := c.in.ReadFrame(c.pkt); err != nil {
				// EOF, or a truncated file: the rest is lost.
				c.eof = true
				return nil
			}
			cs, ok := c.streams[c.pkt.StreamIndex()]
			if !ok {
				c.pkt.Unref()
				continue
			}
			ts := c.pkt.Dts()
			if ts == astiav.NoPtsValue {
				ts = c.pkt.Pts()
			}
			sec := float64(ts) * cs.in.TimeBase().Float64()
			if c.endSec > 0 && sec >= c.endSec {
				c.pkt.Unref()
				if sec > c.endSec+5 {
					c.eof = true
				}
				continue
			}
			pts := c.pkt.Pts()
			if c.cut && pts != astiav.NoPtsValue && float64(pts)*cs.in.TimeBase().Float64() < c.startSec {
				// A subtitle shown across the range's start is kept,
				// from the start on; anything else before it goes.
				tb := cs.in.TimeBase().Float64()
				end := float64(pts+c.pkt.Duration()) * tb
				if cs.in.CodecParameters().MediaType() != astiav.MediaTypeSubtitle || c.pkt.Duration() <= 0 || end <= c.startSec {
					c.pkt.Unref()
					continue
				}
				start := int64(math.Ceil(c.startSec / tb))
				c.pkt.SetDuration(pts + c.pkt.Duration() - start)
				c.pkt.SetPts(start)
				c.pkt.SetDts(start)
			}
			if p, d := c.pkt.Pts(), c.pkt.Duration(); c.endSec > 0 && p != astiav.NoPtsValue && d > 0 &&
				cs.in.CodecParameters().MediaType() == astiav.MediaTypeSubtitle {
				// A cue on screen at the range's end ends with it.
				tb := cs.in.TimeBase().Float64()
				if end := int64(math.Floor(c.endSec / tb)); p+d > end && end > p {
					c.pkt.SetDuration(end - p)
				}
			}
			c.peeked = true
		}
		cs := c.streams[c.pkt.StreamIndex()]
		ts := c.pkt.Dts()
		if ts == astiav.NoPtsValue {
			ts = c.pkt.Pts()
		}
		if float64(ts)*cs.in.TimeBase().Float64()-c.shiftSec > t {
			return nil
		}
		c.peeked = false
		if err := c.write(cs); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) write(cs *copyStream) error {
	defer c.pkt.Unref()
	if cs.shift != 0 {
		if c.pkt.Pts() != astiav.NoPtsValue {
			c.pkt.SetPts(c.pkt.Pts() - cs.shift)
		}
		if c.pkt.Dts() != astiav.NoPtsValue {
			c.pkt.SetDts(c.pkt.Dts() - cs.shift)
		}
	}
	// Where two recordings were joined, packets can start at or before the
	// last one, which no muxer (and no audio decoder's timeline) takes:
	// audio at or before it is dropped, subtitles only before it (two cues
	// may start at once). Checked in the input's time base, before the
	// transcoder too.
	if d := c.pkt.Dts(); d != astiav.NoPtsValue {
		audio := cs.in.CodecParameters().MediaType() == astiav.MediaTypeAudio
		if cs.lastDTS != astiav.NoPtsValue && (d < cs.lastDTS || (audio && d == cs.lastDTS)) {
			cs.dropped++
			return nil
		}
		cs.lastDTS = d
	}
	if cs.tr != nil {
		return cs.tr.send(c.pkt)
	}
	c.pkt.SetStreamIndex(cs.out.Index())
	c.pkt.RescaleTs(cs.in.TimeBase(), cs.out.TimeBase())
	c.pkt.SetPos(-1)
	if err := c.w.out.WriteInterleavedFrame(c.pkt); err != nil {
		return fmt.Errorf("encode: write copied packet: %w", err)
	}
	return nil
}

// flush drains the transcoders.
func (c *copier) flush() error {
	for _, cs := range c.streams {
		if cs.tr != nil {
			if err := cs.tr.send(nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// subtitleLookBack is how long before a range's start the copier looks
// for a subtitle cue still on screen at the start (seconds).
const subtitleLookBack = 15

// describe lists the streams the copier adds, for messages: "aac audio
// copied, mp3 audio from ac3" (sorted by input stream).
func (c *copier) describe() string {
	if c == nil {
		return ""
	}
	var idx []int
	for i := range c.streams {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var parts []string
	for _, i := range idx {
		cs := c.streams[i]
		cp := cs.in.CodecParameters()
		kind := "audio"
		if cp.MediaType() == astiav.MediaTypeSubtitle {
			kind = "subtitles"
		}
		if cs.tr != nil {
			parts = append(parts, fmt.Sprintf("%s %s from %s", cs.out.CodecParameters().CodecID().Name(), kind, cp.CodecID().Name()))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s copied", cp.CodecID().Name(), kind))
		}
	}
	return strings.Join(parts, ", ")
}

func (c *copier) close() {
	for _, cs := range c.streams {
		if cs.tr != nil {
			cs.tr.close()
		}
	}
	if c.pkt != nil {
		c.pkt.Free()
	}
	if c.in != nil {
		c.in.CloseInput()
		c.in.Free()
	}
}

// transcoder re-encodes one audio stream (decoder -> resample/reformat/
// reframe filter -> encoder).
type transcoder struct {
	w          *Writer
	in, out    *astiav.Stream
	dec, enc   *astiav.CodecContext
	graph      *astiav.FilterGraph
	src, sink  *astiav.FilterContext
	df, ff     *astiav.Frame
	pkt        *astiav.Packet
	decEOF     bool
	nextPTS    int64
	encTB      astiav.Rational
	sentFlush  bool
	graphFlush bool
	note       string // what the transcode changed beyond the codec: a downmix
}

func audioEncoderFor(o Options, out *astiav.FormatContext, src *astiav.CodecParameters) string {
	if o.Audio == "aac" || o.Audio == "opus" {
		if o.Audio == "opus" {
			return "libopus"
		}
		return "aac"
	}
	// Lossless audio stays lossless where the container takes ALAC and
	// ALAC has the source's channel layout (it would remix 7.1 into its
	// 7.1(wide); AAC keeps the layout).
	if lossless(src.CodecID()) && movFamily(out) {
		if alac := astiav.FindEncoderByName("alac"); alac != nil && (src.ChannelLayout().NbChannels() <= 2 || hasLayout(alac, src.ChannelLayout())) {
			return "alac"
		}
	}
	if !containerAccepts(out, astiav.CodecIDAac) {
		return "libopus"
	}
	return "aac"
}

// attachmentName is an attachment's file name, or its codec.
func attachmentName(s *astiav.Stream) string {
	if e := s.Metadata().Get("filename", nil, 0); e != nil {
		return e.Value()
	}
	return s.CodecParameters().CodecID().Name()
}

// lossless reports whether an audio codec is lossless with samples ALAC
// can hold as they are: FLAC, and integer PCM of 8 to 24 bits.
func lossless(id astiav.CodecID) bool {
	switch id.Name() {
	case "flac", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_u8", "pcm_s8":
		return true
	}
	return false
}

// hasLayout reports whether encoder c lists layout l.
func hasLayout(c *astiav.Codec, l astiav.ChannelLayout) bool {
	for _, x := range c.ChannelLayouts() {
		if x.Equal(l) {
			return true
		}
	}
	return false
}

// defaultLayouts are FFmpeg's layouts for a channel count that names no
// speakers (av_channel_layout_default).
var defaultLayouts = map[int]astiav.ChannelLayout{
	1: astiav.ChannelLayoutMono, 2: astiav.ChannelLayoutStereo, 3: astiav.ChannelLayoutSurround,
	4: astiav.ChannelLayout4Point0, 5: astiav.ChannelLayout5Point0, 6: astiav.ChannelLayout5Point1,
	7: astiav.ChannelLayout6Point1, 8: astiav.ChannelLayout7Point1,
}

// backLayouts are the surround layouts with their side speakers at the
// back, the ones Vorbis and Opus take, by channel count.
var backLayouts = map[int]astiav.ChannelLayout{
	5: astiav.ChannelLayout5Point0Back, 6: astiav.ChannelLayout5Point1Back, 7: astiav.ChannelLayout6Point1Back,
}

// sameCount is the first layout c lists with as many channels as l.
func sameCount(c *astiav.Codec, l astiav.ChannelLayout) (astiav.ChannelLayout, bool) {
	for _, x := range c.ChannelLayouts() {
		if x.NbChannels() == l.NbChannels() {
			return x, true
		}
	}
	return astiav.ChannelLayout{}, false
}

// movFamily reports whether out is written by FFmpeg's mov muxer (.mp4,
// .mov, .m4v, ...).
func movFamily(out *astiav.FormatContext) bool {
	switch out.OutputFormat().Name() {
	case "mp4", "mov", "ipod", "3gp", "3g2", "psp", "ismv", "f4v":
		return true
	}
	return false
}

// videoOnly are the muxers that write one video stream and nothing else.
var videoOnly = map[string]bool{"yuv4mpegpipe": true, "ivf": true, "h264": true, "hevc": true, "rawvideo": true, "gif": true, "apng": true}

// audioAccepted is containerAccepts for audio copied as it is: FFmpeg
// 5.1's mov muxer lists FLAC but writes it only as an experiment, and
// drops a copied FLAC track whose frame size it does not know.
func audioAccepted(fc *astiav.FormatContext, id astiav.CodecID) bool {
	if id == astiav.CodecIDFlac && movFamily(fc) {
		return false
	}
	return containerAccepts(fc, id)
}

func newTranscoder(w *Writer, s *astiav.Stream, o Options) (t *transcoder, err error) {
	built := &transcoder{w: w, in: s}
	t = built
	defer func() {
		if err != nil {
			built.close() // not t: `return nil, err` has set it to nil
		}
	}()
	cp := s.CodecParameters()
	dc := astiav.FindDecoder(cp.CodecID())
	if dc == nil {
		return nil, fmt.Errorf("encode: no decoder for audio codec %s", cp.CodecID())
	}
	t.dec = astiav.AllocCodecContext(dc)
	if err := cp.ToCodecContext(t.dec); err != nil {
		return nil, fmt.Errorf("encode: audio decoder: %w", err)
	}
	t.dec.SetTimeBase(s.TimeBase())
	if err := t.dec.Open(dc, nil); err != nil {
		return nil, fmt.Errorf("encode: open audio decoder: %w", err)
	}
	name := audioEncoderFor(o, w.out, cp)
	ec := astiav.FindEncoderByName(name)
	if ec == nil {
		return nil, fmt.Errorf("encode: audio encoder %q: %w", name, ErrUnknownCodec)
	}
	t.enc = astiav.AllocCodecContext(ec)
	rate := t.dec.SampleRate()
	if name == "libopus" {
		rate = 48000
	}
	// The input's layout; where it names no speakers ("6 channels", PCM
	// in Matroska) FFmpeg's default for the count, as its CLI guesses.
	inLayout := t.dec.ChannelLayout()
	n := inLayout.NbChannels()
	if strings.HasSuffix(inLayout.String(), " channels") {
		if d, ok := defaultLayouts[n]; ok {
			inLayout = d
		}
	}
	layout := astiav.ChannelLayoutStereo
	if n == 1 {
		layout = astiav.ChannelLayoutMono
	}
	// More than two channels stay so: in the same layout where the encoder
	// lists it or lists none (AAC), else in one it lists with as many
	// channels (5.1(side) for Opus's 5.1); stereo where it has none, or
	// will not open with it, and then the note says so.
	multi := false
	if n > 2 {
		switch l, ok := sameCount(ec, inLayout); {
		case len(ec.ChannelLayouts()) == 0 || hasLayout(ec, inLayout):
			layout, multi = inLayout, true
		case ok:
			layout, multi = l, true
		default:
			t.note = fmt.Sprintf("%s downmixed to stereo (the %s encoder takes no %d-channel layout)", inLayout, name, n)
		}
	}
	sf := astiav.SampleFormatFltp
	if fs := ec.SampleFormats(); len(fs) > 0 {
		sf = fs[0]
		// 16-bit sources stay 16-bit where the encoder takes it (ALAC
		// would otherwise write 24).
		if d := t.dec.SampleFormat(); d == astiav.SampleFormatS16 || d == astiav.SampleFormatS16P {
			for _, f := range fs {
				if f == astiav.SampleFormatS16P || f == astiav.SampleFormatS16 {
					sf = f
				}
			}
		}
	}
	t.encTB = astiav.NewRational(1, rate)
	open := func() error {
		t.enc.SetSampleRate(rate)
		t.enc.SetChannelLayout(layout)
		t.enc.SetSampleFormat(sf)
		t.enc.SetTimeBase(t.encTB)
		if w.out.OutputFormat().Flags().Has(astiav.IOFormatFlagGlobalheader) {
			t.enc.SetFlags(t.enc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
		}
		d := astiav.NewDictionary()
		defer d.Free()
		_ = d.Set("b", map[bool]string{true: "384k", false: "160k"}[multi], 0)
		return t.enc.Open(ec, d)
	}
	err = open()
	if alt, ok := backLayouts[n]; err != nil && multi && ok && !alt.Equal(layout) {
		// Opus takes the surround channels at the back only (Vorbis's
		// order): 5.1(side) as 5.1.
		t.enc.Free()
		t.enc = astiav.AllocCodecContext(ec)
		layout = alt
		err = open()
	}
	if err != nil && multi {
		t.enc.Free()
		t.enc = astiav.AllocCodecContext(ec)
		t.note = fmt.Sprintf("%s downmixed to stereo (the %s encoder would not open with %s: %v)", inLayout, name, layout, err)
		layout, multi = astiav.ChannelLayoutStereo, false
		err = open()
	}
	if err != nil {
		return nil, fmt.Errorf("encode: open audio encoder %s: %w", name, err)
	}
	t.out = w.out.NewStream(nil)
	if err := t.out.CodecParameters().FromCodecContext(t.enc); err != nil {
		return nil, fmt.Errorf("encode: audio parameters: %w", err)
	}
	t.out.SetTimeBase(t.encTB)
	frameSize := t.enc.FrameSize()
	chain := fmt.Sprintf("aresample=%d,aformat=sample_fmts=%s:channel_layouts=%s", rate, sf.Name(), layout.String())
	if frameSize > 0 {
		chain += fmt.Sprintf(",asetnsamples=n=%d:p=0", frameSize)
	}
	t.graph, t.src, t.sink, err = newGraph(chain, 0, astiav.FilterArgs{ // audio: one thread
		"time_base":      "1/" + strconv.Itoa(t.dec.SampleRate()),
		"sample_rate":    strconv.Itoa(t.dec.SampleRate()),
		"sample_fmt":     t.dec.SampleFormat().Name(),
		"channel_layout": inLayout.String(),
	})
	if err != nil {
		return nil, err
	}
	t.df, t.ff, t.pkt = astiav.AllocFrame(), astiav.AllocFrame(), astiav.AllocPacket()
	t.nextPTS = astiav.NoPtsValue
	return t, nil
}

// send decodes p (nil: flush everything) and writes what comes out.
func (t *transcoder) send(p *astiav.Packet) error {
	if p == nil {
		if t.sentFlush {
			return nil
		}
		t.sentFlush = true
	}
	if err := t.dec.SendPacket(p); err != nil && !errors.Is(err, astiav.ErrEof) {
		if p != nil && errors.Is(err, astiav.ErrInvaliddata) {
			return nil // a corrupt audio packet: skip it
		}
		return fmt.Errorf("encode: audio decode: %w", err)
	}
	for {
		err := t.dec.ReceiveFrame(t.df)
		if errors.Is(err, astiav.ErrEagain) {
			return nil
		}
		if errors.Is(err, astiav.ErrEof) {
			if err := t.src.BuffersrcAddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
				return fmt.Errorf("encode: audio filter flush: %w", err)
			}
			if err := t.pull(); err != nil {
				return err
			}
			if err := t.enc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
				return fmt.Errorf("encode: audio encoder flush: %w", err)
			}
			return t.drain()
		}
		if err != nil {
			continue
		}
		// Timestamps in samples (1/rate).
		pts := t.df.Pts()
		if pts != astiav.NoPtsValue {
			pts = astiav.RescaleQ(pts, t.in.TimeBase(), astiav.NewRational(1, t.df.SampleRate()))
		}
		t.df.SetPts(pts)
		err = t.src.BuffersrcAddFrame(t.df, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef))
		t.df.Unref()
		if err != nil {
			return fmt.Errorf("encode: audio filter: %w", err)
		}
		if err := t.pull(); err != nil {
			return err
		}
	}
}

func (t *transcoder) pull() error {
	for {
		err := t.sink.BuffersinkGetFrame(t.ff, astiav.NewBuffersinkFlags())
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode: audio filter: %w", err)
		}
		if t.ff.Pts() == astiav.NoPtsValue && t.nextPTS != astiav.NoPtsValue {
			t.ff.SetPts(t.nextPTS)
		}
		t.nextPTS = t.ff.Pts() + int64(t.ff.NbSamples())
		err = t.enc.SendFrame(t.ff)
		t.ff.Unref()
		if err != nil {
			return fmt.Errorf("encode: audio encode: %w", err)
		}
		if err := t.drain(); err != nil {
			return err
		}
	}
}

func (t *transcoder) drain() error {
	for {
		err := t.enc.ReceivePacket(t.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode: audio encode: %w", err)
		}
		t.pkt.SetStreamIndex(t.out.Index())
		t.pkt.RescaleTs(t.encTB, t.out.TimeBase())
		err = t.w.out.WriteInterleavedFrame(t.pkt)
		t.pkt.Unref()
		if err != nil {
			return fmt.Errorf("encode: write audio: %w", err)
		}
	}
}

func (t *transcoder) close() {
	if t.graph != nil {
		t.graph.Free()
	}
	for _, f := range []*astiav.Frame{t.df, t.ff} {
		if f != nil {
			f.Free()
		}
	}
	if t.pkt != nil {
		t.pkt.Free()
	}
	if t.dec != nil {
		t.dec.Free()
	}
	if t.enc != nil {
		t.enc.Free()
	}
}
