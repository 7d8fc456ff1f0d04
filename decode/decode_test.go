package decode

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/testmedia"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text, empty, audio := testmedia.BadFiles(t, dir)
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "nope.mp4"), ErrNotFound},
		{"empty", empty, ErrEmpty},
		{"text", text, ErrNotMedia},
		{"audio only", audio, ErrNoVideo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(tc.path)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Probe: got %v, want %v", err, tc.want)
			}
			if _, err := Open(tc.path, Options{}); !errors.Is(err, tc.want) {
				t.Fatalf("Open: got %v, want %v", err, tc.want)
			}
		})
	}
}

func decodeAll(t *testing.T, path string, o Options) ([]*frame.Frame, *Reader) {
	t.Helper()
	r, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	w, h := r.Size()
	var fs []*frame.Frame
	for {
		f := frame.New(w, h)
		err := r.Next(context.Background(), f)
		if err == io.EOF {
			return fs, r
		}
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
}

func TestFramesAndTimestamps(t *testing.T) {
	p := testmedia.Clip(t, t.TempDir(), "c.mp4", 160, 120, 25, 30, false)
	info, err := Probe(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 160 || info.Height != 120 || info.FrameRateNum != 25 || info.FrameRateDen != 1 {
		t.Fatalf("info %+v", info)
	}
	fs, r := decodeAll(t, p, Options{Width: 80, Height: 60})
	if len(fs) != 30 || r.Dropped() != 0 {
		t.Fatalf("%d frames, %d dropped; want 30, 0", len(fs), r.Dropped())
	}
	want := testmedia.PacketTimes(t, p, "v:0")
	x, err := ReadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.PTS) != 30 || !x.Keyframe[0] {
		t.Fatalf("index: %d frames, key[0]=%v", len(x.PTS), x.Keyframe[0])
	}
	sortFloat(want)
	for i, f := range fs {
		if got := info.Seconds(f.PTS); math.Abs(got-want[i]) > 1e-6 || f.PTS != x.PTS[i] {
			t.Fatalf("frame %d pts %v (%d), ffprobe %v, index %d", i, got, f.PTS, want[i], x.PTS[i])
		}
	}
	// Pixels match FFmpeg's own conversion of the same frame.
	full, _ := decodeAll(t, p, Options{})
	ref := testmedia.FramesRGB(t, p, 160, 120, 1)[0]
	if d := meanAbsDiff(full[0], ref); d > 2 {
		t.Fatalf("frame 0 differs from ffmpeg's decode by %.2f on average", d)
	}
}

func sortFloat(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// meanAbsDiff compares a planar frame's In with packed RGB24.
func meanAbsDiff(f *frame.Frame, rgb []byte) float64 {
	n := f.W * f.H
	s := 0.0
	for p := 0; p < n; p++ {
		for c := 0; c < 3; c++ {
			s += math.Abs(float64(f.In[c*n+p]) - float64(rgb[3*p+c]))
		}
	}
	return s / float64(3*n)
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	src := testmedia.Clip(t, dir, "src.mp4", 160, 96, 25, 5, false)
	rot := filepath.Join(dir, "rot.mp4")
	// A phone video: stored landscape, displayed turned 90 degrees clockwise.
	testmedia.FFmpeg(t, "-i", src, "-c", "copy", "-metadata:s:v:0", "rotate=90", rot)
	info, err := Probe(rot)
	if err != nil {
		t.Fatal(err)
	}
	if info.Rotation == 0 || info.DisplayWidth != 96 || info.DisplayHeight != 160 {
		t.Fatalf("rotation %d display %dx%d; want 90, 96x160", info.Rotation, info.DisplayWidth, info.DisplayHeight)
	}
	fs, _ := decodeAll(t, rot, Options{})
	if fs[0].W != 96 || fs[0].H != 160 {
		t.Fatalf("frame %dx%d", fs[0].W, fs[0].H)
	}
	// ffmpeg's CLI applies the display matrix (autorotate) the same way.
	ref := testmedia.FramesRGB(t, rot, 96, 160, 1)[0]
	if d := meanAbsDiff(fs[0], ref); d > 3 {
		t.Fatalf("upright frame differs from ffmpeg's autorotated decode by %.2f", d)
	}
}

// A photo taken sideways: a JPEG stored landscape whose EXIF Orientation
// (6, 3, 8) says to show it turned; the frames come upright, as ffmpeg's
// transpose of the stored picture. A JPEG without the tag, and one with a
// mirrored orientation (2), are left as stored.
func TestEXIFOrientation(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.jpg")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x96", "-frames:v", "1", "-q:v", "2", plain)
	raw, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := decodeAll(t, plain, Options{})
	for _, tc := range []struct {
		orient int
		rot    int // clockwise
	}{{6, 90}, {3, 180}, {8, 270}, {2, 0}, {0, 0}} {
		p := filepath.Join(dir, fmt.Sprintf("o%d.jpg", tc.orient))
		b := raw
		if tc.orient > 0 { // APP1 "Exif" with a big-endian TIFF, one IFD entry: Orientation
			tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(tc.orient), 0, 0, 0, 0, 0, 0}
			seg := append([]byte("Exif\x00\x00"), tiff...)
			app1 := append([]byte{0xff, 0xe1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
			b = append(append(append([]byte{}, raw[:2]...), app1...), raw[2:]...)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Probe(p)
		if err != nil {
			t.Fatal(err)
		}
		w, h := 160, 96
		if tc.rot == 90 || tc.rot == 270 {
			w, h = 96, 160
		}
		if info.Rotation != tc.rot || info.DisplayWidth != w || info.DisplayHeight != h {
			t.Errorf("orientation %d: rotation %d, display %dx%d; want %d, %dx%d", tc.orient, info.Rotation, info.DisplayWidth, info.DisplayHeight, tc.rot, w, h)
			continue
		}
		fs, _ := decodeAll(t, p, Options{})
		// The stored picture turned clockwise by rot, here.
		sw, sh := stored[0].W, stored[0].H
		ref := frame.New(w, h)
		for c := range 3 {
			for y := range sh {
				for x := range sw {
					dx, dy := x, y
					switch tc.rot {
					case 90:
						dx, dy = sh-1-y, x
					case 180:
						dx, dy = sw-1-x, sh-1-y
					case 270:
						dx, dy = y, sw-1-x
					}
					ref.In[c*w*h+dy*w+dx] = stored[0].In[c*sw*sh+y*sw+x]
				}
			}
		}
		d := 0.0
		for i, v := range fs[0].In {
			d += math.Abs(float64(v - ref.In[i]))
		}
		if d /= float64(len(ref.In)); d > 1 {
			t.Errorf("orientation %d: differs from the stored picture turned %d degrees by %.2f", tc.orient, tc.rot, d)
		}
	}
}

func TestColourRanges(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, pixfmt, rng string
		y                 int
		full              bool
	}{
		{"limited", "yuv420p", "tv", 126, false}, // Y=126 limited is RGB 128
		{"full", "yuvj420p", "pc", 128, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".mkv")
			// A flat grey written as raw YUV, so the value is exact.
			testmedia.FFmpeg(t, "-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=10:duration=0.3",
				"-vf", "format="+tc.pixfmt+",geq=lum="+itoa(tc.y)+":cb=128:cr=128", "-color_range", tc.rng,
				"-c:v", "ffv1", p)
			info, err := Probe(p)
			if err != nil {
				t.Fatal(err)
			}
			if info.FullRange != tc.full {
				t.Fatalf("FullRange %v", info.FullRange)
			}
			fs, _ := decodeAll(t, p, Options{})
			for c := 0; c < 3; c++ {
				if v := fs[0].In[c*64*48+100]; math.Abs(float64(v)-128) > 1 {
					t.Fatalf("channel %d = %v, want 128", c, v)
				}
			}
		})
	}
}

func itoa(i int) string {
	return string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestRangeSeekMatchesLinearDecode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gop.mp4")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "100",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", p)
	x, err := ReadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Keyframes(); len(got) != 4 || got[1] != 25 {
		t.Fatalf("keyframes %v", got)
	}
	all, _ := decodeAll(t, p, Options{})
	// Frame 37 is not a keyframe: the range must start exactly there.
	seek, _ := decodeAll(t, p, Options{Ranged: true, StartPTS: x.PTS[37], EndPTS: x.PTS[45]})
	if len(seek) != 8 {
		t.Fatalf("%d frames in range, want 8", len(seek))
	}
	for i, f := range seek {
		if f.PTS != all[37+i].PTS {
			t.Fatalf("frame %d: pts %d want %d", i, f.PTS, all[37+i].PTS)
		}
		for k := range f.In {
			if f.In[k] != all[37+i].In[k] {
				t.Fatalf("frame %d differs from the linear decode", 37+i)
			}
		}
	}
	// In AVI (decode times only) without B-frames, decode times are
	// display times: indexed from its packets, ranges seek.
	avi := testmedia.Remux(t, p, filepath.Dir(p), "gop.avi")
	if x, err := ReadIndex(avi); err != nil || x.Untimed {
		t.Errorf("AVI without B-frames: index untimed %v (%v), want one from its packets", x != nil && x.Untimed, err)
	}
	rangesMatchLinear(t, avi)
}

// MPEG-TS: its timestamp seek can land on a P-frame; with the index the
// seek goes to the keyframe's bytes and the range is exact.
func TestRangeSeekTS(t *testing.T) {
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "gop.mp4")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "100",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", mp4)
	p := testmedia.Remux(t, mp4, dir, "gop.ts")
	// HLS has MPEG-TS's discontinuities but takes no byte seeks: it seeks
	// by timestamp (it failed with "Operation not permitted").
	hls := testmedia.Remux(t, mp4, dir, "gop.m3u8", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0")
	for _, q := range []string{p, hls} {
		t.Run(filepath.Ext(q), func(t *testing.T) { rangesMatchLinear(t, q) })
	}
}

// B-frames: a container whose timestamp seek matches decode times (MP4
// without an edit list, FLV; MP4 with one too, for HEVC's longer delay)
// lands on a keyframe shown after the frame asked for. Ranges starting on
// every frame around two GOP boundaries must still be exact, without
// frames counted as corrupt, closed and open GOPs, H.264 and HEVC; MKV as
// the control.
func TestRangeSeekBFrames(t *testing.T) {
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "60", "-pix_fmt", "yuv420p"}
	closed := filepath.Join(dir, "closed.mp4")
	testmedia.FFmpeg(t, append(src, "-c:v", "libx264", "-g", "12", "-bf", "3", "-x264-params", "scenecut=0", closed)...)
	open := filepath.Join(dir, "open.mp4")
	testmedia.FFmpeg(t, append(src, "-c:v", "libx264", "-bf", "3", "-x264-params", "open-gop=1:keyint=12:min-keyint=12:scenecut=0", open)...)
	hevc := filepath.Join(dir, "hevc.mp4")
	testmedia.FFmpeg(t, append(src, "-c:v", "libx265", "-x265-params", "log-level=error:keyint=12:min-keyint=12:scenecut=0:bframes=3", hevc)...)
	files := map[string]string{
		"mp4 closed gop, no edit list": testmedia.Remux(t, closed, dir, "noel.mp4", "-use_editlist", "0"),
		"flv closed gop":               testmedia.Remux(t, closed, dir, "b.flv"),
		"mp4 closed gop":               closed,
		"mp4 open gop":                 open,
		"mp4 hevc":                     hevc,
		"mkv closed gop":               testmedia.Remux(t, closed, dir, "b.mkv"),
		// Packets with decode times only (AVI), or display times on some
		// (MPEG-PS): the index numbers frames as the decoder times them.
		"avi closed gop": testmedia.Remux(t, closed, dir, "b.avi"),
		"mpeg-ps mpeg-2": func() string {
			p := filepath.Join(dir, "m2.mpg")
			testmedia.FFmpeg(t, append(src, "-c:v", "mpeg2video", "-g", "12", "-bf", "2", p)...)
			return p
		}(),
		// A capture that starts mid-GOP: the packets before its first
		// keyframe decode into nothing and are not frames of the file.
		"ts from mid-gop": midGOP(t, testmedia.Remux(t, closed, dir, "b.ts"), dir, "midgop.ts"),
	}
	// HEVC and MPEG-2 (open GOPs) cut mid-GOP: their decoders give frames
	// for what comes before the first keyframe, and leading B-frames
	// that cannot decode: the Reader starts at the first keyframe, and the
	// index with it.
	files["hevc ts from mid-gop"] = midGOP(t, testmedia.Remux(t, hevc, dir, "h.ts"), dir, "hmid.ts")
	files["mpeg-2 ts from mid-gop"] = midGOP(t, testmedia.Remux(t, files["mpeg-ps mpeg-2"], dir, "m2.ts"), dir, "m2mid.ts")
	ots := filepath.Join(dir, "o.ts") // headers before every keyframe, as broadcast repeats them
	testmedia.FFmpeg(t, append(src, "-c:v", "libx264", "-bf", "3", "-x264-params", "open-gop=1:keyint=12:min-keyint=12:scenecut=0:repeat-headers=1", ots)...)
	files["h.264 open gop ts from mid-gop"] = midGOP(t, ots, dir, "omid.ts")
	// HEVC's RADL leading frames decode (sent after the keyframe, shown
	// before it): kept, where an open GOP's (RASL) are not.
	radl := filepath.Join(dir, "radl.ts")
	testmedia.FFmpeg(t, append(src, "-c:v", "libx265", "-x265-params", "log-level=error:keyint=12:min-keyint=12:scenecut=0:bframes=3:radl=2:open-gop=0", radl)...)
	files["hevc radl ts from a keyframe"] = midGOP(t, radl, dir, "radlmid.ts")
	t.Run("radl frames kept", func(t *testing.T) {
		p := files["hevc radl ts from a keyframe"]
		all, _ := decodeAll(t, p, Options{})
		x, err := ReadIndex(p)
		if err != nil {
			t.Fatal(err)
		}
		k := slices.Index(x.Keyframe, true)
		// The first frames delivered are the first keyframe's two RADL
		// frames, shown before it.
		if k != 2 || len(all) < 3 || all[0].PTS != x.PTS[0] || all[2].PTS != x.PTS[k] {
			t.Errorf("first keyframe at index %d; first frames %v", k, []int64{all[0].PTS, all[1].PTS, all[2].PTS})
		}
	})
	var ranges [][2]int
	for s := 8; s <= 26; s++ {
		ranges = append(ranges, [2]int{s, s + 3})
	}
	for name, p := range files {
		t.Run(name, func(t *testing.T) { rangesMatchLinear(t, p, ranges...) })
	}
	// 1500 fps in Matroska's milliseconds: packets share timestamps, the
	// Reader keeps one frame of each, and so does the index.
	dup := filepath.Join(dir, "dup.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=1500", "-frames:v", "40", "-c:v", "libx264", "-preset", "ultrafast", dup)
	t.Run("mkv shared timestamps", func(t *testing.T) { rangesMatchLinear(t, dup, [2]int{3, 6}, [2]int{10, 14}, [2]int{20, 27}) })
	// After the last keyframe of an FLV without a keyframe index, a seek
	// finds no keyframe ahead: it goes back.
	t.Run("flv end", func(t *testing.T) { rangesMatchLinear(t, files["flv closed gop"], [2]int{50, 53}, [2]int{57, 60}) })
}

// midGOP writes dir/name, a copy of the MPEG-TS file ts without its first
// 5 video frames' worth of bytes (cut on a 188-byte packet boundary), as
// a capture that started mid-GOP.
func midGOP(t *testing.T, ts, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ReadIndex(ts)
	if err != nil {
		t.Fatal(err)
	}
	cut := x.Pos[5] / 188 * 188
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b[cut:], 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rangesMatchLinear checks that ranges of p seeked with its index give
// exactly the frames of a decode from the start (default ranges: three of
// a 100-frame clip), and count no frame as corrupt.
func rangesMatchLinear(t *testing.T, p string, ranges ...[2]int) {
	x, err := ReadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	all, whole := decodeAll(t, p, Options{})
	if d := whole.Dropped(); d != 0 { // nor what comes before a capture's first keyframe
		t.Errorf("a whole decode counts %d frames as corrupt", d)
	}
	if len(x.PTS) != len(all) {
		t.Fatalf("the index lists %d frames, a decode gives %d", len(x.PTS), len(all))
	}
	for i, f := range all {
		if f.PTS != x.PTS[i] {
			t.Fatalf("frame %d: the index says pts %d, the decoder %d", i, x.PTS[i], f.PTS)
		}
	}
	if ranges == nil {
		ranges = [][2]int{{37, 45}, {30, 36}, {75, 100}}
	}
	for _, rg := range ranges {
		end := int64(0)
		if rg[1] < len(x.PTS) {
			end = x.PTS[rg[1]]
		}
		seek, r := decodeAll(t, p, Options{Ranged: true, StartPTS: x.PTS[rg[0]], EndPTS: end, Index: x})
		if len(seek) != rg[1]-rg[0] {
			first := int64(-1)
			if len(seek) > 0 {
				first = seek[0].PTS
			}
			t.Fatalf("range %v: %d frames, the first at pts %d (want %d)", rg, len(seek), first, x.PTS[rg[0]])
		}
		if d := r.Dropped(); d != 0 {
			t.Errorf("range %v: %d frames counted as corrupt", rg, d)
		}
		for i, f := range seek {
			if f.PTS != all[rg[0]+i].PTS || !slices.Equal(f.In, all[rg[0]+i].In) {
				t.Fatalf("range %v: frame %d differs from the linear decode", rg, rg[0]+i)
			}
		}
	}
}

// Two MPEG-TS files joined byte for byte: the second's timestamps start
// over. A clear error, not frames no muxer would take.
func TestTSResetError(t *testing.T) {
	dir := t.TempDir()
	ts := testmedia.Remux(t, testmedia.Clip(t, dir, "c.mp4", 64, 48, 25, 50, false), dir, "c.ts")
	joined := testmedia.Joined(t, dir, "joined.ts", ts, ts)
	r, err := Open(joined, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := frame.New(r.Size())
	n := 0
	for err == nil {
		if err = r.Next(context.Background(), f); err == nil {
			n++
		}
	}
	if !errors.Is(err, ErrTSReset) || n < 40 || n > 50 || !strings.Contains(err.Error(), "at 1.9") {
		t.Fatalf("after %d frames: %v", n, err)
	}
	// The file itself decodes to the end.
	if fs, _ := decodeAll(t, ts, Options{}); len(fs) != 50 {
		t.Fatalf("one copy: %d frames", len(fs))
	}
}

func TestTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	p := testmedia.Clip(t, dir, "c.mp4", 96, 64, 25, 50, false)
	b, _ := os.ReadFile(p)
	// MPEG-TS survives truncation (mp4 needs its index): remux, then cut.
	ts := filepath.Join(dir, "c.ts")
	testmedia.FFmpeg(t, "-i", p, "-c", "copy", ts)
	b, _ = os.ReadFile(ts)
	cut := filepath.Join(dir, "cut.ts")
	os.WriteFile(cut, b[:len(b)*6/10], 0o644)
	fs, _ := decodeAll(t, cut, Options{})
	if len(fs) < 10 || len(fs) >= 50 {
		t.Fatalf("%d frames from a truncated file", len(fs))
	}
}

// A range that ends mid-file leaves frames in a B-frame decoder's
// reordering queue: they decoded fine and are not "dropped".
func TestRangeEndWithBFrames(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bf.mp4")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "60",
		"-c:v", "libx264", "-preset", "fast", "-bf", "3", "-g", "30", "-pix_fmt", "yuv420p", p)
	x, err := ReadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range [][2]int{{0, 20}, {37, 45}} {
		fs, r := decodeAll(t, p, Options{Ranged: true, StartPTS: x.PTS[rg[0]], EndPTS: x.PTS[rg[1]]})
		if len(fs) != rg[1]-rg[0] || r.Dropped() != 0 || r.Missing() != 0 {
			t.Errorf("range %v: %d frames, %d dropped, %d missing", rg, len(fs), r.Dropped(), r.Missing())
		}
	}
}

// An MP4 cut short still has its index (moov first, as -movflags faststart
// writes it): the frames it lists beyond the end are reported missing.
func TestTruncatedMP4Missing(t *testing.T) {
	dir := t.TempDir()
	fast := testmedia.Remux(t, testmedia.Clip(t, dir, "c.mp4", 96, 64, 25, 50, false), dir, "fast.mp4", "-movflags", "+faststart")
	b, _ := os.ReadFile(fast)
	cut := filepath.Join(dir, "cut.mp4")
	os.WriteFile(cut, b[:len(b)*6/10], 0o644)
	fs, r := decodeAll(t, cut, Options{})
	if len(fs) >= 50 || r.Missing() == 0 || r.Packets()+r.Missing() != 50 {
		t.Fatalf("cut: %d frames, %d packets, %d missing", len(fs), r.Packets(), r.Missing())
	}
	fs, r = decodeAll(t, fast, Options{})
	if len(fs) != 50 || r.Missing() != 0 || r.Dropped() != 0 {
		t.Fatalf("whole: %d frames, %d missing, %d dropped", len(fs), r.Missing(), r.Dropped())
	}
}

func BenchmarkNext(b *testing.B) { benchNext(b, 384, 216, 384, 216, false) }

// BenchmarkNext1080: a 768x432 clip scaled up to a 1920x1080 processing
// size, as for a GPU render at 1080p: the filter graph's cost per frame.
func BenchmarkNext1080(b *testing.B) { benchNext(b, 768, 432, 1920, 1080, false) }

// BenchmarkNextDeinterlace: what bwdif adds to a 1920x1080 frame's decode
// (the frames are progressive here; bwdif does the same work on them).
func BenchmarkNextDeinterlace(b *testing.B) {
	for _, deint := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "bwdif"}[deint], func(b *testing.B) { benchNext(b, 1920, 1080, 1920, 1080, deint) })
	}
}

func benchNext(b *testing.B, cw, ch, w, h int, deint bool) {
	p := testmedia.Clip(b, b.TempDir(), "c.mp4", cw, ch, 25, 50, false)
	f := frame.New(w, h)
	var r *Reader
	b.ReportAllocs()
	b.ResetTimer() // the frame is the caller's, not the reader's
	for i := 0; i < b.N; i++ {
		if r == nil {
			b.StopTimer()
			var err error
			if r, err = Open(p, Options{Width: w, Height: h, Deinterlace: deint}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := r.Next(context.Background(), f); err == io.EOF {
			r.Close()
			r = nil
		} else if err != nil {
			b.Fatal(err)
		}
	}
	if r != nil {
		r.Close()
	}
}

func TestHWAccelUnavailable(t *testing.T) {
	if os.Getenv("VIDNST_GPU") != "" {
		t.Skip("SKIP: VIDNST_GPU set: a GPU may be present")
	}
	p := testmedia.Clip(t, t.TempDir(), "c.mp4", 64, 48, 25, 3, false)
	for _, dev := range []string{"cuda", "nosuchdevice"} {
		r, err := Open(p, Options{HWAccel: dev})
		if err == nil {
			// A machine with a working NVDEC: decoding must work.
			fs := 0
			f := frame.New(64, 48)
			for r.Next(context.Background(), f) == nil {
				fs++
			}
			r.Close()
			if fs != 3 {
				t.Fatalf("hwaccel %s decoded %d frames", dev, fs)
			}
			continue
		}
		if !errors.Is(err, ErrHWAccel) {
			t.Fatalf("hwaccel %s: %v", dev, err)
		}
	}
}

// A raw H.264 stream has no timestamps: frames get one frame apart, at the
// stream's rate (the encoder refused the unset ones).
func TestRawStreamTimestamps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.h264")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "30", "-c:v", "libx264", "-bf", "2", p)
	fs, r := decodeAll(t, p, Options{})
	d := r.Info().FrameDurationTB()
	if len(fs) != 30 || d <= 0 {
		t.Fatalf("%d frames, frame duration %d", len(fs), d)
	}
	for i, f := range fs {
		if f.PTS != int64(i)*d {
			t.Fatalf("frame %d at %d, want %d", i, f.PTS, int64(i)*d)
		}
	}
	// Its index numbers the frames the same way, and a range (decoded from
	// the start: there is nothing to seek by) gives exactly those frames.
	x, err := ReadIndex(p)
	if err != nil || !x.Untimed || len(x.PTS) != 30 || x.PTS[7] != 7*d {
		t.Fatalf("index: %+v %v", x, err)
	}
	rg, _ := decodeAll(t, p, Options{Ranged: true, StartPTS: x.PTS[5], EndPTS: x.PTS[10], Index: x})
	if len(rg) != 5 {
		t.Fatalf("range 5-9: %d frames", len(rg))
	}
	for i, f := range rg {
		if f.PTS != fs[5+i].PTS || !slices.Equal(f.In, fs[5+i].In) {
			t.Fatalf("range frame %d differs from frame %d", i, 5+i)
		}
	}
}

// The stylized stream is the picture, not cover art; among several video
// streams the one flagged default; the others are counted.
func TestVideoStreamChoice(t *testing.T) {
	dir := t.TempDir()
	cover := filepath.Join(dir, "cover.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1", cover)
	clip := testmedia.Clip(t, dir, "clip.mp4", 96, 64, 25, 10, false)
	coverOnly := filepath.Join(dir, "cover.m4a")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "sine=duration=1", "-i", cover, "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "copy", "-disposition:v:0", "attached_pic", coverOnly)
	coverFirst := filepath.Join(dir, "cover-first.mkv")
	testmedia.FFmpeg(t, "-i", cover, "-i", clip, "-map", "0", "-map", "1", "-c", "copy", "-disposition:v:0", "attached_pic", coverFirst)
	small := testmedia.Clip(t, dir, "small.mp4", 32, 32, 25, 10, false)
	twoDefault2 := filepath.Join(dir, "two.mp4")
	testmedia.FFmpeg(t, "-i", small, "-i", clip, "-map", "0", "-map", "1", "-c", "copy", "-disposition:v:0", "0", "-disposition:v:1", "default", twoDefault2)

	// An MJPEG video flagged default beside an H.264 one: the MJPEG.
	mjpeg := filepath.Join(dir, "mjpeg.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=10", "-t", "1",
		"-map", "0", "-map", "1", "-c:v:0", "mjpeg", "-c:v:1", "libx264", "-disposition:v:0", "default", "-disposition:v:1", "0", mjpeg)

	if _, err := Probe(coverOnly); !errors.Is(err, ErrNoVideo) {
		t.Errorf("audio with cover art: %v, want ErrNoVideo", err)
	}
	for _, tc := range []struct {
		path                 string
		w, h, others, covers int
	}{{coverFirst, 96, 64, 0, 1}, {twoDefault2, 96, 64, 1, 0}, {mjpeg, 160, 120, 1, 0}} {
		info, err := Probe(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != tc.w || info.Height != tc.h || info.OtherVideo != tc.others || info.Covers != tc.covers {
			t.Errorf("%s: stream %d, %dx%d, %d other video, %d covers; want %dx%d, %d other, %d covers", filepath.Base(tc.path), info.Index, info.Width, info.Height, info.OtherVideo, info.Covers, tc.w, tc.h, tc.others, tc.covers)
		}
		if fs, _ := decodeAll(t, tc.path, Options{}); len(fs) != 10 {
			t.Errorf("%s: %d frames decoded, want 10", filepath.Base(tc.path), len(fs))
		}
	}
}

// Info reports the colour tags by FFmpeg's names (HDR among them), the
// bit depth, the field order and the picture's shape in square pixels.
func TestInfoTags(t *testing.T) {
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-frames:v", "3"}
	mk := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		testmedia.FFmpeg(t, append(append(append([]string{}, src...), args...), p)...)
		return p
	}
	pq := mk("pq.mkv", "-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le",
		"-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc")
	hlg := mk("hlg.mkv", "-c:v", "libx264", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc")
	p3 := mk("p3.mkv", "-c:v", "libx264", "-color_primaries", "smpte432", "-color_trc", "bt709", "-colorspace", "bt709")
	il := mk("il.mkv", "-vf", "tinterlace=interleave_top,setfield=tff", "-flags", "+ilme+ildct", "-c:v", "libx264", "-x264opts", "tff=1")
	ana := mk("ana.mp4", "-vf", "setsar=64/45", "-c:v", "libx264")
	// The ratio in the container only (a remux with -aspect): MP4's pasp
	// box, Matroska's display size.
	sq := mk("sq.mp4", "-c:v", "libx264")
	paspMP4 := testmedia.Remux(t, sq, dir, "pasp.mp4", "-aspect", "16:9")
	paspMKV := testmedia.Remux(t, sq, dir, "pasp.mkv", "-aspect", "16:9")
	for _, tc := range []struct {
		path             string
		prim, trc, field string
		hdr              bool
		depth, sqW, sqH  int
	}{
		{pq, "bt2020", "smpte2084", "progressive", true, 10, 128, 96},
		{hlg, "bt2020", "arib-std-b67", "progressive", true, 8, 128, 96},
		{p3, "smpte432", "bt709", "progressive", false, 8, 128, 96},
		{il, "", "", "", false, 8, 128, 96}, // "" here: interlaced, tt or tb
		{ana, "", "", "progressive", false, 8, 182, 96},
		{paspMP4, "", "", "progressive", false, 8, 171, 96},
		{paspMKV, "", "", "progressive", false, 8, 171, 96},
	} {
		i, err := Probe(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if i.Primaries != tc.prim || i.Transfer != tc.trc || i.HDR() != tc.hdr || i.BitDepth != tc.depth ||
			(tc.field != "" && i.FieldOrder != tc.field) || i.Interlaced() != (tc.field == "") || i.SquareWidth != tc.sqW || i.SquareHeight != tc.sqH {
			t.Errorf("%s: primaries %q transfer %q hdr %v depth %d field %q square %dx%d; want %q %q %v %d %q %dx%d", filepath.Base(tc.path),
				i.Primaries, i.Transfer, i.HDR(), i.BitDepth, i.FieldOrder, i.SquareWidth, i.SquareHeight,
				tc.prim, tc.trc, tc.hdr, tc.depth, tc.field, tc.sqW, tc.sqH)
		}
	}
}

// combing is the mean vertical second difference of f's first plane: how
// much each row differs from the mean of its neighbours. Interlaced frames
// of moving vertical edges have much of it (alternate rows from another
// instant), progressive ones of vertical bars little.
func combing(f *frame.Frame) float64 {
	sum := 0.0
	for y := 1; y < f.H-1; y++ {
		up, row, down := f.In[(y-1)*f.W:y*f.W], f.In[y*f.W:(y+1)*f.W], f.In[(y+1)*f.W:(y+2)*f.W]
		for x := range row {
			sum += math.Abs(float64(2*row[x] - up[x] - down[x]))
		}
	}
	return sum / float64(f.W*(f.H-2))
}

// psnr8 of a against b (0..255 planes).
func psnr8(a, b []float32) float64 {
	sum := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		sum += d * d
	}
	return 10 * math.Log10(255*255/(sum/float64(len(a))))
}

// Deinterlacing (bwdif) takes the combing out of interlaced frames of
// moving bars and brings them closer to the progressive frames their first
// fields come from, one frame out
// per frame in, timestamps kept; a range that starts on a keyframe still
// gives the frames of a whole decode exactly (the frame before it is
// decoded for bwdif); frames that do not say they are interlaced take the
// stream's field order.
func TestDeinterlace(t *testing.T) {
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "smptebars=s=128x96:r=50,scroll=h=0.03", "-t", "1.2"}
	ref := filepath.Join(dir, "ref.mkv") // 50 progressive frames a second, lossless
	testmedia.FFmpeg(t, append(src, "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", ref)...)
	mk := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		// 25 frames a second, each of the top field of one source frame
		// and the bottom field of the next.
		testmedia.FFmpeg(t, append(append(src, "-vf", "tinterlace=interleave_top,setfield=tff", "-g", "5",
			"-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p"), append(args, p)...)...)
		return p
	}
	il := mk("il.mkv", "-flags", "+ilme+ildct", "-x264opts", "tff=1")
	// The same fields, coded as progressive frames: only the stream's
	// field order says they are interlaced.
	unflagged := mk("unflagged.mkv", "-field_order", "tt")
	// Said bottom field first: bwdif then shows the bottom field's
	// instant, the later source frame (the stream's word is taken).
	bff := mk("bff.mkv", "-field_order", "bb")
	progressive, _ := decodeAll(t, ref, Options{})
	if len(progressive) != 60 {
		t.Fatalf("%d reference frames, want 60", len(progressive))
	}
	for _, tc := range []struct {
		p     string
		first int // which of the two source frames a frame shows first
	}{{il, 0}, {unflagged, 0}, {bff, 1}} {
		p := tc.p
		t.Run(filepath.Base(p), func(t *testing.T) {
			info, err := Probe(p)
			if err != nil || !info.Interlaced() {
				t.Fatalf("probe: field order %q, %v", info.FieldOrder, err)
			}
			raw, _ := decodeAll(t, p, Options{})
			deint, _ := decodeAll(t, p, Options{Deinterlace: true})
			if len(raw) != 30 || len(deint) != len(raw) {
				t.Fatalf("%d frames as they are, %d deinterlaced; want 30 each", len(raw), len(deint))
			}
			var before, after, combBefore, combAfter float64 // means over the frames
			for i := range raw {
				if deint[i].PTS != raw[i].PTS {
					t.Fatalf("frame %d: pts %d deinterlaced, %d as it is", i, deint[i].PTS, raw[i].PTS)
				}
				want := progressive[2*i+tc.first].In
				before, after = before+psnr8(raw[i].In, want)/30, after+psnr8(deint[i].In, want)/30
				combBefore, combAfter = combBefore+combing(raw[i])/30, combAfter+combing(deint[i])/30
			}
			t.Logf("from the progressive frames: %.1f dB as it is, %.1f dB deinterlaced; combing %.1f as it is, %.1f deinterlaced (%.1f progressive)",
				before, after, combBefore, combAfter, combing(progressive[tc.first]))
			if after < before+2 || combAfter > 0.5*combBefore {
				t.Errorf("deinterlaced: %.1f dB from the progressive frames (%.1f as they are), combing %.1f (%.1f): want 2 dB closer and half the combing", after, before, combAfter, combBefore)
			}
			x, err := ReadIndex(p)
			if err != nil {
				t.Fatal(err)
			}
			if k := x.Keyframes(); len(k) < 3 || k[2] != 10 {
				t.Fatalf("keyframes %v, want every 5 frames", k)
			}
			for _, start := range []int{10, 13} { // on a keyframe, and after one
				rng, _ := decodeAll(t, p, Options{Deinterlace: true, Ranged: true, StartPTS: x.PTS[start], EndPTS: x.PTS[start+4], Index: x})
				if len(rng) != 4 {
					t.Fatalf("range from %d: %d frames, want 4", start, len(rng))
				}
				for i, f := range rng {
					if f.PTS != deint[start+i].PTS || !slices.Equal(f.In, deint[start+i].In) {
						t.Errorf("range from %d: frame %d differs from the whole decode's", start, start+i)
					}
				}
			}
		})
	}
}

// A stream whose frames stop saying they are interlaced mid-way (coded
// as progressive frames, as PAFF frame pictures without timing SEI are)
// keeps its stream's field order for those frames, whatever frame a
// decode starts on: a range starting among them equals the whole decode.
func TestDeinterlaceMixedFlags(t *testing.T) {
	dir := t.TempDir()
	src := "smptebars=s=128x96:r=50,scroll=h=0.03"
	ref := filepath.Join(dir, "ref.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", src, "-t", "1.6", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", ref)
	// Bottom field first: each frame's bottom field from source frame 2i,
	// its top from 2i+1. The first half says so in every frame, the
	// second in none (only the stream, from the first half, does).
	il := []string{"-vf", "tinterlace=interleave_bottom,setfield=bff", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", "-g", "5"}
	p1, p2 := filepath.Join(dir, "p1.ts"), filepath.Join(dir, "p2.ts")
	testmedia.FFmpeg(t, append(append([]string{"-f", "lavfi", "-i", src, "-t", "0.8"}, il...), "-flags", "+ilme+ildct", "-x264opts", "bff=1", "-muxdelay", "0", p1)...)
	testmedia.FFmpeg(t, append(append([]string{"-f", "lavfi", "-i", src, "-ss", "0.8", "-t", "0.8"}, il...), "-output_ts_offset", "0.8", p2)...)
	p := testmedia.Joined(t, dir, "mixed.ts", p1, p2)
	info, err := Probe(p)
	if err != nil || info.FieldOrder != "bb" {
		t.Fatalf("probe: field order %q, %v; want bb", info.FieldOrder, err)
	}
	progressive, _ := decodeAll(t, ref, Options{})
	whole, _ := decodeAll(t, p, Options{Deinterlace: true})
	if len(progressive) != 80 || len(whole) != 40 {
		t.Fatalf("%d reference frames, %d deinterlaced; want 80 and 40", len(progressive), len(whole))
	}
	var bottom, top float64 // the second half's closeness to each field's instant
	for i := 20; i < 40; i++ {
		bottom, top = bottom+psnr8(whole[i].In, progressive[2*i].In)/20, top+psnr8(whole[i].In, progressive[2*i+1].In)/20
	}
	t.Logf("unflagged frames: %.1f dB from the bottom field's instant, %.1f from the top's", bottom, top)
	if bottom < top+2 {
		t.Errorf("unflagged frames of a bottom-first stream: %.1f dB from the bottom field's instant, %.1f from the top's: shown top first", bottom, top)
	}
	x, err := ReadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	rng, _ := decodeAll(t, p, Options{Deinterlace: true, Ranged: true, StartPTS: x.PTS[25], EndPTS: x.PTS[30], Index: x})
	if len(rng) != 5 {
		t.Fatalf("range: %d frames, want 5", len(rng))
	}
	for i, f := range rng {
		if !slices.Equal(f.In, whole[25+i].In) {
			t.Errorf("range from 25: frame %d differs from the whole decode's", 25+i)
		}
	}
}

// A stream that does not say its field order (DV in AVI) gets its first
// frame's: SD DV is interlaced, bottom field first.
func TestProbeFieldOrderFromFrames(t *testing.T) {
	dir := t.TempDir()
	dv := filepath.Join(dir, "dv.avi")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "smptebars=s=720x576:r=25", "-t", "0.2", "-c:v", "dvvideo", "-pix_fmt", "yuv420p", dv)
	png := filepath.Join(dir, "still.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "smptebars=s=64x48", "-frames:v", "1", png)
	for _, c := range []struct {
		path, want string
	}{{dv, "bb"}, {png, ""}} {
		info, err := Probe(c.path)
		if err != nil || info.FieldOrder != c.want || info.Interlaced() != (c.want == "bb") {
			t.Errorf("%s: field order %q, %v; want %q", filepath.Base(c.path), info.FieldOrder, err, c.want)
		}
	}
}

// Info.PTS saturates instead of wrapping: --start 1e20 wrapped to a
// negative timestamp and rendered from frame 0 on some inputs.
func TestInfoPTSSaturates(t *testing.T) {
	const limit = int64(1) << 62
	for _, tc := range []struct {
		num, den int
		sec      float64
		want     int64
	}{
		{1, 1000, 1.5, 1500},
		{1, 12800, 0.04, 512},
		{1, 1000, 1e20, limit},
		{1, 90000, 1e300, limit},
		{1, 1000, -1e20, -limit},
		{1, 1000, math.Inf(1), limit},
		{1, 1000, math.NaN(), 0},
	} {
		i := &Info{TimeBaseNum: tc.num, TimeBaseDen: tc.den}
		if got := i.PTS(tc.sec); got != tc.want {
			t.Errorf("PTS(%g) in 1/%d: %d, want %d", tc.sec, tc.den, got, tc.want)
		}
	}
}

// FuzzEXIFOrientation: the EXIF reader takes any bytes a JPEG's APP1
// segment holds without panicking (`go test ./decode -run '^$' -fuzz
// FuzzEXIFOrientation`).
func FuzzEXIFOrientation(f *testing.F) {
	ifd := func(order string, tag, typ, val uint16) []byte {
		var bo binary.AppendByteOrder = binary.LittleEndian
		if order == "MM" {
			bo = binary.BigEndian
		}
		b := []byte(order)
		b = bo.AppendUint16(b, 42)
		b = bo.AppendUint32(b, 8)
		b = bo.AppendUint16(b, 1)
		b = bo.AppendUint16(b, tag)
		b = bo.AppendUint16(b, typ)
		b = bo.AppendUint32(b, 1)
		b = bo.AppendUint16(b, val)
		return append(b, 0, 0, 0, 0, 0, 0)
	}
	f.Add(ifd("II", 0x0112, 3, 6))
	f.Add(ifd("MM", 0x0112, 3, 8))
	f.Add(ifd("II", 0x0110, 2, 1))
	f.Add([]byte("II*\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tiffOrientation(b)
		p := filepath.Join(t.TempDir(), "x.jpg")
		seg := append([]byte("Exif\x00\x00"), b...)
		if len(seg)+2 > 0xffff {
			return
		}
		jpg := []byte{0xff, 0xd8, 0xff, 0xe1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
		if err := os.WriteFile(p, append(append(jpg, seg...), 0xff, 0xda), 0o666); err != nil {
			t.Fatal(err)
		}
		switch r := exifRotation(p); r {
		case 0, 90, 180, 270:
		default:
			t.Fatalf("exifRotation: %d", r)
		}
	})
}
