package encode

import (
	"errors"
	"fmt"
	"math"

	"github.com/asticode/go-astiav"
)

// ConcatOptions join chunk files.
type ConcatOptions struct {
	Path   string   // final output
	Force  bool     // replace an existing output
	Chunks []string // in order; each starts with a keyframe, all encoded with the same settings
	// Input, when set, supplies the other streams (audio, subtitles),
	// metadata and chapters, as for a single render of the whole input.
	Input string
	Audio string // as Options.Audio
	// ShiftSec is subtracted from every timestamp, as Options.ShiftSec (the
	// chunks keep the input's timeline; the joined file starts at 0).
	ShiftSec float64
	// DroppedAudio, when set, receives Writer.DroppedAudio's count.
	DroppedAudio *int
}

// Concat joins the video of chunk files without re-encoding: packets are
// copied with their timestamps (chunks keep the input's timeline), and the
// input's other streams are muxed once. The result is written to a
// temporary file and renamed, like Create/Finish.
func Concat(o ConcatOptions) (frames int, err error) {
	if len(o.Chunks) == 0 {
		return 0, errors.New("encode: concat: no chunks")
	}
	if err := checkTarget(o.Path, o.Force); err != nil {
		return 0, err
	}
	first := astiav.AllocFormatContext()
	if err := first.OpenInput(o.Chunks[0], nil, nil); err != nil {
		first.Free()
		return 0, fmt.Errorf("encode: open chunk %s: %w", o.Chunks[0], err)
	}
	defer func() { first.CloseInput(); first.Free() }()
	if err := first.FindStreamInfo(nil); err != nil {
		return 0, fmt.Errorf("encode: read chunk %s: %w", o.Chunks[0], err)
	}
	var vin *astiav.Stream
	for _, s := range first.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			vin = s
			break
		}
	}
	if vin == nil {
		return 0, fmt.Errorf("encode: chunk %s has no video", o.Chunks[0])
	}

	w := &Writer{opts: Options{Path: o.Path, Force: o.Force, Audio: o.Audio}}
	defer w.Close()
	out, err := astiav.AllocOutputFormatContext(nil, "", o.Path)
	if err != nil || out == nil {
		return 0, fmt.Errorf("encode: %s: %w", o.Path, ErrUnknownContainer)
	}
	w.out = out
	w.vs = out.NewStream(nil)
	if err := vin.CodecParameters().Copy(w.vs.CodecParameters()); err != nil {
		return 0, fmt.Errorf("encode: concat: %w", err)
	}
	w.vs.CodecParameters().SetCodecTag(0)
	w.vs.SetTimeBase(vin.TimeBase())
	w.vs.SetSampleAspectRatio(vin.SampleAspectRatio())
	if o.Input != "" {
		// The copier needs the video time base of the input for ranges;
		// the whole input is wanted here.
		if w.copy, err = newCopier(w, Options{Input: o.Input, Audio: o.Audio, TimeBaseNum: 1, TimeBaseDen: 1, ShiftSec: o.ShiftSec}); err != nil {
			return 0, err
		}
	}
	if err := w.openFile(); err != nil {
		return 0, err
	}
	outTB := w.vs.TimeBase()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	lastDTS := int64(math.MinInt64)
	shift := int64(math.Round(o.ShiftSec / outTB.Float64()))
	for _, c := range o.Chunks {
		n, err := copyChunk(w, c, pkt, outTB, shift, &lastDTS)
		if err != nil {
			return frames, err
		}
		frames += n
	}
	if w.copy != nil {
		if err := w.copy.pumpUntil(math.Inf(1)); err != nil {
			return frames, err
		}
		if err := w.copy.flush(); err != nil {
			return frames, err
		}
	}
	if o.DroppedAudio != nil {
		*o.DroppedAudio = w.DroppedAudio()
	}
	return frames, w.closeFile()
}

func copyChunk(w *Writer, path string, pkt *astiav.Packet, outTB astiav.Rational, shift int64, lastDTS *int64) (int, error) {
	in := astiav.AllocFormatContext()
	if err := in.OpenInput(path, nil, nil); err != nil {
		in.Free()
		return 0, fmt.Errorf("encode: open chunk %s: %w", path, err)
	}
	defer func() { in.CloseInput(); in.Free() }()
	if err := in.FindStreamInfo(nil); err != nil {
		return 0, fmt.Errorf("encode: read chunk %s: %w", path, err)
	}
	vi := -1
	var tb astiav.Rational
	var dur int64 // one frame, for packets without a duration (a chunk's last)
	for _, s := range in.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			vi, tb = s.Index(), s.TimeBase()
			if fr := s.AvgFrameRate(); fr.Num() > 0 && fr.Den() > 0 {
				dur = astiav.RescaleQ(1, astiav.NewRational(fr.Den(), fr.Num()), tb)
			}
			break
		}
	}
	if vi < 0 {
		return 0, fmt.Errorf("encode: chunk %s has no video", path)
	}
	n := 0
	for {
		if err := in.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				return n, nil
			}
			return n, fmt.Errorf("encode: read chunk %s: %w", path, err)
		}
		if pkt.StreamIndex() != vi {
			pkt.Unref()
			continue
		}
		if pkt.Duration() <= 0 && dur > 0 {
			// Without it the joined file's last frame can fall outside the
			// track's edit list and be lost.
			pkt.SetDuration(dur)
		}
		pkt.SetStreamIndex(w.vs.Index())
		pkt.RescaleTs(tb, outTB)
		if shift != 0 {
			if pkt.Pts() != astiav.NoPtsValue {
				pkt.SetPts(pkt.Pts() - shift)
			}
			if pkt.Dts() != astiav.NoPtsValue {
				pkt.SetDts(pkt.Dts() - shift)
			}
		}
		pkt.SetPos(-1)
		if pkt.Dts() != astiav.NoPtsValue {
			if pkt.Dts() <= *lastDTS {
				// Keep DTS strictly increasing across the seam.
				pkt.SetDts(*lastDTS + 1)
			}
			*lastDTS = pkt.Dts()
		}
		if w.copy != nil {
			if err := w.copy.pumpUntil(float64(pkt.Dts()) * outTB.Float64()); err != nil {
				pkt.Unref()
				return n, err
			}
		}
		err := w.out.WriteInterleavedFrame(pkt)
		pkt.Unref()
		if err != nil {
			return n, fmt.Errorf("encode: write %s: %w", path, err)
		}
		n++
	}
}
