package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vidnst/vidnst/decode"
)

// frameRange is the part of the input to render, resolved to frame
// numbers and timestamps of the video stream.
type frameRange struct {
	set         bool          // a range was asked for
	first, last int           // inclusive frame numbers; last < 0: to the end
	start       int           // = first; > 0 means the range does not begin at frame 0
	startPTS    int64         // PTS of the first frame (when set)
	endPTS      int64         // PTS of the first frame after the range (0: to the end)
	warmPTS     int64         // PTS of the first warm-up frame
	index       *decode.Index // the input's frames (when set), for seeking
	total       int           // frames in the whole input (from the index; 0 if not indexed)
}

func (r frameRange) count(info *decode.Info) int {
	if r.last >= 0 {
		return r.last - r.first + 1
	}
	if r.total > 0 {
		return r.total - r.first
	}
	return int(info.FrameCount)
}

// timeSpec is a parsed --start/--end/--duration value: seconds or a frame
// count.
type timeSpec struct {
	set    bool
	frames bool
	n      int
	sec    float64
}

// parseTimeSpec accepts seconds ("12.5"), "hh:mm:ss.mmm", "mm:ss", or "Nf".
func parseTimeSpec(flag, s string) (timeSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return timeSpec{}, nil
	}
	bad := usagef("--%s %q: want seconds, hh:mm:ss.mmm or Nf", flag, s)
	if strings.HasSuffix(s, "f") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "f"))
		if err != nil || n < 0 {
			return timeSpec{}, bad
		}
		return timeSpec{set: true, frames: true, n: n}, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return timeSpec{}, bad
	}
	sec := 0.0
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(p, "xXpP") || math.Signbit(v) || (i > 0 && v >= 60) || (i < len(parts)-1 && strings.Contains(p, ".")) {
			return timeSpec{}, bad
		}
		sec = sec*60 + v
	}
	return timeSpec{set: true, sec: sec}, nil
}

// parseFrames parses --frames A-B.
func parseFrames(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	x, err1 := strconv.Atoi(strings.TrimSpace(a))
	y, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || x < 0 || y < x {
		return 0, 0, usagef("--frames %q: want A-B with 0 <= A <= B", s)
	}
	return x, y, nil
}

// resolveRange turns the range flags into frame numbers and timestamps.
// Without range flags it does not read the input's index.
func resolveRange(o *renderOpts, in string, info *decode.Info) (frameRange, error) {
	r := frameRange{last: -1}
	st, err := parseTimeSpec("start", o.start)
	if err != nil {
		return r, err
	}
	en, err := parseTimeSpec("end", o.end)
	if err != nil {
		return r, err
	}
	du, err := parseTimeSpec("duration", o.duration)
	if err != nil {
		return r, err
	}
	if o.frames != "" && (st.set || en.set || du.set) {
		return r, usagef("--frames cannot be combined with --start/--end/--duration")
	}
	if en.set && du.set {
		return r, usagef("give --end or --duration, not both")
	}
	if o.frames == "" && !st.set && !en.set && !du.set {
		return r, nil
	}
	x, err := decode.ReadIndex(in)
	if err != nil {
		return r, err
	}
	n := len(x.PTS)
	if n == 0 {
		return r, fmt.Errorf("%s: no video frames", in)
	}
	r.total = n
	frameAt := func(sec float64) int { return frameAt(x, info, sec) }
	if o.frames != "" {
		a, b, err := parseFrames(o.frames)
		if err != nil {
			return r, err
		}
		r.first, r.last = a, b
	} else {
		if st.set {
			if st.frames {
				r.first = st.n
			} else {
				r.first = frameAt(st.sec)
			}
		}
		switch {
		case en.set && en.frames:
			r.last = en.n - 1
		case en.set:
			r.last = frameAt(en.sec) - 1
		case du.set && du.frames:
			r.last = r.first + min(du.n, n) - 1 // du.n may be MaxInt
		case du.set && st.set && !st.frames:
			r.last = frameAt(st.sec+du.sec) - 1 // [start, start+duration), as --end
		case du.set:
			r.last = frameAt(info.Seconds(x.PTS[min(r.first, n-1)]-info.StartPTS)+du.sec) - 1
		}
	}
	if r.first >= n {
		if st.set && !st.frames && o.frames == "" { // a time: say it, not the frame it was clamped to
			return r, fmt.Errorf("no frame of %s starts at or after --start %s (%s; the last starts at %.3fs): %w", in, o.start, count(n, "frame"), info.Seconds(x.PTS[n-1]-info.StartPTS), decode.ErrOutOfRange)
		}
		return r, fmt.Errorf("range starts at frame %d but %s has %s: %w", r.first, in, count(n, "frame"), decode.ErrOutOfRange)
	}
	if (en.set || du.set) && r.last < r.first { // last -1 would read "to the end"
		return r, fmt.Errorf("empty range (it ends before frame %d, where it starts): %w", r.first, decode.ErrOutOfRange)
	}
	if r.last >= n {
		r.last = n - 1
	}
	if r.last >= 0 && r.last < r.first {
		return r, fmt.Errorf("empty range (frames %d-%d): %w", r.first, r.last, decode.ErrOutOfRange)
	}
	r.set = true
	r.index = x
	r.start = r.first
	r.startPTS = x.PTS[r.first]
	r.warmPTS = r.startPTS
	if r.last >= 0 && r.last+1 < n {
		r.endPTS = x.PTS[r.last+1]
	}
	if r.last == n-1 {
		r.last = -1
	}
	return r, nil
}

// frameAt is the number of the first frame of x at or after sec seconds
// from the video's start (len(x.PTS) if none); a hundredth of a frame's
// duration absorbs the rounding of a time read off a timestamp.
func frameAt(x *decode.Index, info *decode.Info, sec float64) int {
	return x.Find(info.StartPTS + info.PTS(sec) - info.FrameDurationTB()/100)
}
