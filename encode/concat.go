package encode

import (
	"context"
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
	// VideoStream is Input's stylized video stream (Options.VideoStream).
	VideoStream int
	// Starts, when set (one per chunk), is where each chunk's first frame
	// belongs, in the time base StartsTBNum/StartsTBDen (the input's
	// video time base; the plan's start_pts). Concat puts it there, not
	// where the chunk file says: MP4 and MOV store a track's start delay
	// in the movie timescale (1/1000 s), so a chunk that starts between
	// two milliseconds reads back up to half of one early or late.
	Starts                   []int64
	StartsTBNum, StartsTBDen int
}

// Concat joins the video of chunk files without re-encoding: packets are
// copied with their timestamps (chunks keep the input's timeline), and the
// input's other streams are muxed once. The result is written to a
// temporary file and renamed, like Create/Finish; when ctx ends (a
// signal) it stops between packets, puts nothing in place and returns
// ctx's error.
func Concat(ctx context.Context, o ConcatOptions) (frames int, err error) {
	if len(o.Chunks) == 0 {
		return 0, errors.New("encode: concat: no chunks")
	}
	if o.Starts != nil && (len(o.Starts) != len(o.Chunks) || o.StartsTBNum <= 0 || o.StartsTBDen <= 0) {
		return 0, fmt.Errorf("encode: concat: %d starts in time base %d/%d for %d chunks", len(o.Starts), o.StartsTBNum, o.StartsTBDen, len(o.Chunks))
	}
	if err := checkTarget(o.Path, o.Force); err != nil {
		return 0, err
	}
	first := astiav.AllocFormatContext()
	if err := first.OpenInput(fileURL(o.Chunks[0]), nil, nil); err != nil {
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
		if w.copy, err = newCopier(w, Options{Input: o.Input, Audio: o.Audio, TimeBaseNum: 1, TimeBaseDen: 1, ShiftSec: o.ShiftSec, VideoStream: o.VideoStream}); err != nil {
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
	for i, c := range o.Chunks {
		place := chunkPlace{shift: shift}
		if o.Starts != nil {
			place.start, place.startTB, place.aligned = o.Starts[i], astiav.NewRational(o.StartsTBNum, o.StartsTBDen), true
		}
		n, err := copyChunk(ctx, w, c, pkt, outTB, place, &lastDTS)
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
	if err := ctx.Err(); err != nil {
		return frames, err
	}
	return frames, w.closeFile()
}

// chunkPlace says where copyChunk puts a chunk's packets: shifted by
// shift (output time base), and, when aligned, moved first so that its
// first frame is at start (in startTB).
type chunkPlace struct {
	shift   int64
	aligned bool
	start   int64
	startTB astiav.Rational
}

// openChunk opens a chunk file and finds its video stream: index, time
// base and one frame's duration (0 when unknown). The caller closes in.
func openChunk(path string) (in *astiav.FormatContext, vi int, tb astiav.Rational, dur int64, err error) {
	in = astiav.AllocFormatContext()
	if err := in.OpenInput(fileURL(path), nil, nil); err != nil {
		in.Free()
		return nil, 0, tb, 0, fmt.Errorf("encode: open chunk %s: %w", path, err)
	}
	if err := in.FindStreamInfo(nil); err != nil {
		closeChunk(in)
		return nil, 0, tb, 0, fmt.Errorf("encode: read chunk %s: %w", path, err)
	}
	for _, s := range in.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			tb = s.TimeBase()
			if fr := s.AvgFrameRate(); fr.Num() > 0 && fr.Den() > 0 {
				dur = astiav.RescaleQ(1, astiav.NewRational(fr.Den(), fr.Num()), tb)
			}
			return in, s.Index(), tb, dur, nil
		}
	}
	closeChunk(in)
	return nil, 0, tb, 0, fmt.Errorf("encode: chunk %s has no video", path)
}

func closeChunk(in *astiav.FormatContext) { in.CloseInput(); in.Free() }

// firstPTS is the earliest presentation timestamp of the chunk's video
// packets (its first frame), in the stream's time base tb.
func firstPTS(path string, pkt *astiav.Packet) (first int64, tb astiav.Rational, err error) {
	in, vi, tb, _, err := openChunk(path)
	if err != nil {
		return 0, tb, err
	}
	defer closeChunk(in)
	first = math.MaxInt64
	for {
		if err := in.ReadFrame(pkt); err != nil {
			if !errors.Is(err, astiav.ErrEof) {
				return 0, tb, fmt.Errorf("encode: read chunk %s: %w", path, err)
			}
			break
		}
		if pkt.StreamIndex() == vi && pkt.Pts() != astiav.NoPtsValue {
			first = min(first, pkt.Pts())
		}
		pkt.Unref()
	}
	if first == math.MaxInt64 {
		return 0, tb, fmt.Errorf("encode: chunk %s has no timed video packet", path)
	}
	return first, tb, nil
}

func copyChunk(ctx context.Context, w *Writer, path string, pkt *astiav.Packet, outTB astiav.Rational, place chunkPlace, lastDTS *int64) (int, error) {
	var move int64 // added to every timestamp, in the chunk's time base
	if place.aligned {
		first, tb, err := firstPTS(path, pkt)
		if err != nil {
			return 0, err
		}
		move = astiav.RescaleQ(place.start, place.startTB, tb) - first
	}
	in, vi, tb, dur, err := openChunk(path)
	if err != nil {
		return 0, err
	}
	defer closeChunk(in)
	shift := place.shift
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
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
		if move != 0 {
			if pkt.Pts() != astiav.NoPtsValue {
				pkt.SetPts(pkt.Pts() + move)
			}
			if pkt.Dts() != astiav.NoPtsValue {
				pkt.SetDts(pkt.Dts() + move)
			}
		}
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
