package encode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/testmedia"
)

// reencode decodes in and writes every frame unchanged (Out = In) to out.
func reencode(t *testing.T, in, out string, w, h int, mod func(*Options)) (int, []string) {
	t.Helper()
	n, wr := reencodeW(t, in, out, w, h, mod)
	return n, wr.LeftOut()
}

// reencodeW is reencode giving the finished Writer (closed by the test's
// end) for its reports.
func reencodeW(t *testing.T, in, out string, w, h int, mod func(*Options)) (int, *Writer) {
	t.Helper()
	info, err := decode.Probe(in)
	if err != nil {
		t.Fatal(err)
	}
	if w == 0 {
		w, h = info.DisplayWidth, info.DisplayHeight
	}
	r, err := decode.Open(in, decode.Options{Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	o := Options{Path: out, CRF: -1, Preset: "ultrafast", Width: info.DisplayWidth, Height: info.DisplayHeight,
		FrameW: w, FrameH: h, TimeBaseNum: info.TimeBaseNum, TimeBaseDen: info.TimeBaseDen,
		FrameRateNum: info.FrameRateNum, FrameRateDen: info.FrameRateDen, FrameDurationTB: info.FrameDurationTB(),
		BaseRateNum: info.BaseRateNum, BaseRateDen: info.BaseRateDen,
		SARNum: info.SARNum, SARDen: info.SARDen, FullRange: info.FullRange, Matrix: info.Matrix,
		Primaries: info.Primaries, Transfer: info.Transfer, Input: in}
	if mod != nil {
		mod(&o)
	}
	wr, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wr.Close() })
	f := frame.New(w, h)
	n := 0
	for {
		err := r.Next(context.Background(), f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		copy(f.Out, f.In)
		if err := wr.Write(f); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := wr.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n, wr
}

func md5Of(t *testing.T, path, stream string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", stream, "-c", "copy", "-f", "md5", "-").Output()
	if err != nil {
		t.Fatalf("md5 of %s %s: %v", path, stream, err)
	}
	return strings.TrimSpace(string(out))
}

func TestTimingAudioMetadataKept(t *testing.T) {
	dir := t.TempDir()
	src := testmedia.Clip(t, dir, "src.mp4", 128, 96, 25, 40, true)
	// Add a title, a language tag and chapters through an mkv.
	meta := filepath.Join(dir, "meta.txt")
	os.WriteFile(meta, []byte(";FFMETADATA1\ntitle=My Clip\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=800\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=800\nEND=1600\ntitle=Two\n"), 0o644)
	in := filepath.Join(dir, "in.mkv")
	testmedia.FFmpeg(t, "-i", src, "-i", meta, "-map_metadata", "1", "-map_chapters", "1", "-map", "0", "-c", "copy", "-metadata:s:a:0", "language=fra",
		"-metadata:s:v:0", "language=jpn", "-metadata:s:v:0", "title=Camera A", in)
	out := filepath.Join(dir, "out.mkv")
	n, _ := reencode(t, in, out, 64, 48, nil)
	if n != 40 {
		t.Fatalf("%d frames", n)
	}
	p := testmedia.FFprobe(t, out, true)
	v, a := p.Stream("video"), p.Stream("audio")
	if v == nil || a == nil {
		t.Fatalf("streams %+v", p.Streams)
	}
	if v.Width != 128 || v.Height != 96 || v.NbReadFrames != "40" {
		t.Fatalf("video %dx%d %s frames", v.Width, v.Height, v.NbReadFrames)
	}
	if got, want := testmedia.PacketTimes(t, out, "v:0"), testmedia.PacketTimes(t, in, "v:0"); !sameTimes(got, want) {
		t.Fatalf("video timestamps changed:\n got %v\nwant %v", got, want)
	}
	if md5Of(t, out, "0:a:0") != md5Of(t, in, "0:a:0") {
		t.Fatal("audio is not bit-exact")
	}
	if a.Tags["language"] != "fra" || p.Format.Tags["title"] != "My Clip" || v.Tags["language"] != "jpn" || v.Tags["title"] != "Camera A" {
		t.Fatalf("tags: video %v audio %v format %v", v.Tags, a.Tags, p.Format.Tags)
	}
	if len(p.Chapters) != 2 || p.Chapters[1].Tags["title"] != "Two" {
		t.Fatalf("chapters %+v", p.Chapters)
	}
}

// AVI stores a frame rate, not timestamps: the output has one frame per
// input frame at the input's rate (a fine time base wrote 512 per frame).
func TestAVIFrameRate(t *testing.T) {
	dir := t.TempDir()
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 12, false)
	out := filepath.Join(dir, "out.avi")
	if n, _ := reencode(t, in, out, 0, 0, nil); n != 12 {
		t.Fatalf("%d frames", n)
	}
	v := testmedia.FFprobe(t, out, true).Stream("video")
	if v == nil || v.NbReadFrames != "12" || v.AvgFrameRate != "25/1" || !strings.HasPrefix(v.Duration, "0.48") {
		t.Fatalf("avi video: %+v", v)
	}
}

// A variable frame rate into AVI (a rate, no timestamps): written at the
// input's base rate (30 here, the average being 20), every frame at its own
// time (the slower parts hold their pictures); at the average rate frames
// were pushed later and drifted from the sound by most of a second.
func TestAVIVariableRate(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vfr.mp4")
	// 30 fps for the first half of every second, 7.5 fps for the rest.
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=30", "-t", "3", "-vf", "select='lt(mod(t\\,1)\\,0.5)+not(mod(n\\,4))'",
		"-fps_mode", "vfr", "-c:v", "libx264", "-bf", "0", in)
	info, err := decode.Probe(in)
	if err != nil || info.BaseRateNum != 30 || info.FrameRateNum*1 >= 30*info.FrameRateDen {
		t.Fatalf("fixture: base rate %d/%d, average %d/%d, %v", info.BaseRateNum, info.BaseRateDen, info.FrameRateNum, info.FrameRateDen, err)
	}
	out := filepath.Join(dir, "vfr.avi")
	// No B-frames: AVI stores decode times only, and they are then the
	// frames' display times.
	n, wr := reencodeW(t, in, out, 0, 0, func(o *Options) { o.Codec, o.Preset = "", "ultrafast" })
	if r, d := wr.Retimed(); r != 0 {
		t.Errorf("%d frames moved off their times, by up to %.2f s", r, d)
	}
	// The frames that carry pictures (AVI's empty ones hold the one
	// before) sit at the input's times.
	want := testmedia.PacketTimes(t, in, "v:0")
	var got []float64
	csv, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=dts_time,size", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(csv)), "\n") {
		var ts float64
		var size int
		if _, err := fmt.Sscanf(strings.ReplaceAll(line, ",", " "), "%f %d", &ts, &size); err == nil && size > 0 {
			got = append(got, ts)
		}
	}
	if len(got) != n || !sameTimes(got, want) {
		t.Errorf("avi frames at %v\nwant %v", got, want)
	}
}

func TestAVIRate(t *testing.T) {
	for _, c := range []struct {
		avg, base [2]int
		want      [2]int
	}{
		{[2]int{25, 1}, [2]int{25, 1}, [2]int{25, 1}},                   // constant
		{[2]int{1680, 83}, [2]int{30, 1}, [2]int{30, 1}},                // variable: the base rate
		{[2]int{25, 1}, [2]int{50, 1}, [2]int{25, 1}},                   // interlaced: fields
		{[2]int{24000, 1001}, [2]int{60000, 1001}, [2]int{24000, 1001}}, // telecined
		{[2]int{30000, 1001}, [2]int{90000, 1}, [2]int{30000, 1001}},    // no video rate
		{[2]int{30000, 1001}, [2]int{0, 0}, [2]int{30000, 1001}},        // unknown
	} {
		n, d := aviRate(Options{FrameRateNum: c.avg[0], FrameRateDen: c.avg[1], BaseRateNum: c.base[0], BaseRateDen: c.base[1]})
		if [2]int{n, d} != c.want {
			t.Errorf("average %v, base %v: %d/%d, want %v", c.avg, c.base, n, d, c.want)
		}
	}
}

func TestSubtitlesKept(t *testing.T) {
	dir := t.TempDir()
	src := testmedia.Clip(t, dir, "src.mp4", 64, 48, 25, 25, true)
	srt := filepath.Join(dir, "s.srt")
	os.WriteFile(srt, []byte("1\n00:00:00,100 --> 00:00:00,800\nhello\n"), 0o644)
	in := filepath.Join(dir, "in.mkv")
	testmedia.FFmpeg(t, "-i", src, "-i", srt, "-map", "0", "-map", "1", "-c", "copy", "-metadata:s:s:0", "language=deu", in)
	out := filepath.Join(dir, "out.mkv")
	reencode(t, in, out, 0, 0, nil)
	p := testmedia.FFprobe(t, out, false)
	s := p.Stream("subtitle")
	if s == nil || s.Tags["language"] != "deu" || md5Of(t, out, "0:s:0") != md5Of(t, in, "0:s:0") {
		t.Fatalf("subtitle not kept: %+v", p.Streams)
	}
	// mp4 cannot hold SubRip, and MPEG-TS would store it as a data stream
	// no player shows: left out and reported, audio still kept.
	for _, ext := range []string{".mp4", ".ts"} {
		out = filepath.Join(dir, "out"+ext)
		_, left := reencode(t, in, out, 0, 0, nil)
		p = testmedia.FFprobe(t, out, false)
		if len(p.Streams) != 2 || p.Stream("audio") == nil || len(left) != 1 || !strings.Contains(left[0], "subtitle") {
			t.Fatalf("%s streams: %+v, left out %v", ext, p.Streams, left)
		}
	}
}

func sameTimes(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	sortF(a)
	sortF(b)
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-3 {
			return false
		}
	}
	return true
}

func sortF(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestGreyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, pixfmt, rng, ext string
		y                      int
	}{
		{"limited-601", "yuv420p", "tv", "mp4", 126},
		{"full", "yuvj420p", "pc", "mkv", 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(dir, tc.name+"."+tc.ext)
			testmedia.FFmpeg(t, "-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=10:duration=0.5",
				"-vf", "format="+tc.pixfmt+",geq=lum="+itoa(tc.y)+":cb=128:cr=128", "-color_range", tc.rng,
				"-c:v", "libx264", "-qp", "0", in)
			out := filepath.Join(dir, "out-"+tc.name+"."+tc.ext)
			reencode(t, in, out, 0, 0, nil)
			// The decoded planes as stored (no conversion): Y is first.
			raw, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-frames:v", "1", "-f", "rawvideo", "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			if y := int(raw[64*24+32]); y < tc.y-1 || y > tc.y+1 {
				t.Fatalf("grey Y=%d came back as %d", tc.y, y)
			}
			p := testmedia.FFprobe(t, out, false)
			if v := p.Stream("video"); v.ColorRange != tc.rng || v.ColorSpace == "" {
				t.Fatalf("output tagged range=%q space=%q", v.ColorRange, v.ColorSpace)
			}
		})
	}
}

func itoa(i int) string {
	return string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestOddSizeIsCropped(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "odd.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=101x75:rate=10", "-frames:v", "5", "-c:v", "ffv1", "-pix_fmt", "yuv444p", in)
	out := filepath.Join(dir, "odd.mp4")
	reencode(t, in, out, 52, 36, nil)
	v := testmedia.FFprobe(t, out, false).Stream("video")
	if v.Width != 100 || v.Height != 74 {
		t.Fatalf("odd input gave %dx%d, want 100x74", v.Width, v.Height)
	}
}

// QuickTime (.mov) in FFmpeg 5.1 lists VP9, AV1 and Opus but writes them
// in MP4 only: Opus audio is transcoded for it (to AAC), and a VP9 or AV1
// encoder is refused before anything is opened; .mp4 takes all three.
func TestMOVRefusesMP4OnlyCodecs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "opus.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-f", "lavfi", "-i", "sine", "-t", "1", "-c:v", "libx264", "-c:a", "libopus", in)
	for _, ext := range []string{".mov", ".mp4"} {
		out := filepath.Join(dir, "out"+ext)
		reencode(t, in, out, 0, 0, func(o *Options) { o.Codec = "libx264" })
		want := map[string]string{".mov": "aac", ".mp4": "opus"}[ext]
		if a := testmedia.FFprobe(t, out, false).Stream("audio"); a == nil || a.CodecName != want {
			t.Errorf("opus into %s: audio %+v, want %s", ext, a, want)
		}
	}
	for _, codec := range []string{"libvpx-vp9", "libsvtav1"} {
		if err := Validate(filepath.Join(dir, "x.mov"), codec, ""); !errors.Is(err, ErrCodecContainer) {
			t.Errorf("%s into .mov: %v, want ErrCodecContainer", codec, err)
		}
		if err := Validate(filepath.Join(dir, "x.mp4"), codec, ""); err != nil {
			t.Errorf("%s into .mp4: %v", codec, err)
		}
	}
}

// Surround audio keeps its channels when transcoded: AC-3's 5.1(side)
// and 6 channels that name no speakers (PCM in Matroska) become Opus 5.1
// (Opus takes the surround channels at the back); a layout the encoder
// has nothing for (16 channels) is downmixed to stereo, and the Writer's
// Notes say so.
func TestSurroundTranscodes(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, layout, codec string, n int) string {
		p := filepath.Join(dir, name)
		pan := layout
		for c := range n {
			pan += fmt.Sprintf("|c%d=c0", c)
		}
		testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-f", "lavfi", "-i", "sine=f=440",
			"-filter_complex", "[1]pan="+pan+"[a]", "-map", "0", "-map", "[a]", "-t", "1", "-c:v", "libx264", "-c:a", codec, p)
		return p
	}
	for _, tc := range []struct {
		in, out   string
		codec     string
		channels  int
		downmixed bool
	}{
		{mk("ac3.mkv", "5.1(side)", "ac3", 6), "ac3.webm", "opus", 6, false},
		{mk("pcm6.mkv", "6c", "pcm_s16le", 6), "pcm6.webm", "opus", 6, false},
		{mk("pcm16.mkv", "hexadecagonal", "pcm_s16le", 16), "pcm16.mp4", "aac", 2, true},
	} {
		_, wr := reencodeW(t, tc.in, filepath.Join(dir, tc.out), 0, 0, func(o *Options) { o.Codec, o.Preset = "", "" })
		a := testmedia.FFprobe(t, filepath.Join(dir, tc.out), false).Stream("audio")
		if a == nil || a.CodecName != tc.codec || a.Channels != tc.channels {
			t.Errorf("%s: audio %+v, want %s with %d channels", tc.out, a, tc.codec, tc.channels)
		}
		said := strings.Contains(strings.Join(wr.Notes(), "\n"), "downmixed to stereo")
		if said != tc.downmixed {
			t.Errorf("%s: notes %q, downmix said %v, want %v", tc.out, wr.Notes(), said, tc.downmixed)
		}
	}
}

func TestWebMTranscodesAudio(t *testing.T) {
	dir := t.TempDir()
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 25, true)
	out := filepath.Join(dir, "out.webm")
	reencode(t, in, out, 0, 0, func(o *Options) { o.Codec, o.Preset = "", "" })
	p := testmedia.FFprobe(t, out, false)
	if v, a := p.Stream("video"), p.Stream("audio"); v == nil || v.CodecName != "vp9" || a == nil || a.CodecName != "opus" {
		t.Fatalf("streams %+v", p.Streams)
	}
	d := p.Format.Duration
	if !strings.HasPrefix(d, "1.0") && !strings.HasPrefix(d, "0.9") {
		t.Fatalf("duration %s", d)
	}
}

// A render that ends early (an error, Ctrl-C) closes its Writer without
// Finish, before any frame or after a few: Close returns promptly, with no
// temporary left, for every encoder. (SVT-AV1 hung for ever when freed
// before the stream's end, and on that end when it had had no frame.)
func TestCloseEarly(t *testing.T) {
	dir := t.TempDir()
	for _, codec := range []string{"libx264", "libsvtav1", "libvpx-vp9"} {
		if astiav.FindEncoderByName(codec) == nil {
			t.Logf("SKIPPED %s: not in this FFmpeg", codec)
			continue
		}
		for _, n := range []int{0, 3} {
			// (SVT-AV1 takes 64x64 and up.)
			o := Options{Path: filepath.Join(dir, fmt.Sprintf("%s-%d.mkv", codec, n)), Codec: codec, Width: 128, Height: 96, FrameW: 128, FrameH: 96, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1}
			done := make(chan error, 1)
			go func() {
				w, err := Create(o)
				if err != nil {
					done <- err
					return
				}
				f := frame.New(128, 96)
				for i := range n {
					f.PTS = int64(i)
					if err := w.Write(f); err != nil {
						done <- err
						return
					}
				}
				done <- w.Close()
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s after %d frames: %v", codec, n, err)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("%s: Close after %d frames did not return in a minute", codec, n)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*part")); len(left) > 0 {
				t.Errorf("%s after %d frames: left %v", codec, n, left)
			}
		}
	}
}

func TestTargetChecks(t *testing.T) {
	dir := t.TempDir()
	exist := filepath.Join(dir, "exists.mp4")
	os.WriteFile(exist, []byte("keep me"), 0o644)
	base := Options{Width: 64, Height: 48, FrameW: 64, FrameH: 48, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1}
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want error
	}{
		{"exists", func(o *Options) { o.Path = exist }, ErrExists},
		{"no folder", func(o *Options) { o.Path = filepath.Join(dir, "nope", "x.mp4") }, ErrOutputDir},
		{"container", func(o *Options) { o.Path = filepath.Join(dir, "x.notacontainer") }, ErrUnknownContainer},
		{"codec", func(o *Options) { o.Path = filepath.Join(dir, "x.mp4"); o.Codec = "nosuchcodec" }, ErrUnknownCodec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			w, err := Create(o)
			if !errors.Is(err, tc.want) {
				w.Close()
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// NVENC without an NVIDIA GPU: a clear error (on a GPU machine it opens).
	o := base
	o.Path, o.Codec = filepath.Join(dir, "nv.mp4"), "h264_nvenc"
	if w, err := Create(o); err == nil {
		w.Close()
		t.Log("h264_nvenc opened: an NVIDIA GPU is present")
	} else if !errors.Is(err, ErrHWEncoder) {
		t.Fatalf("h264_nvenc: %v", err)
	}
	// A container that turns the streams down only when its header is
	// written (FFmpeg cannot tell before): a one-line error naming it, no
	// temporary left, the file being replaced kept.
	ogg := filepath.Join(dir, "keep.ogg")
	os.WriteFile(ogg, []byte("keep me"), 0o644)
	o = base
	o.Path, o.Force = ogg, true
	if w, err := Create(o); err == nil {
		w.Close()
		t.Fatal("h264 in .ogg: no error")
	} else if !strings.Contains(err.Error(), "the .ogg container refused the streams (h264 video)") || strings.Contains(err.Error(), "\n") || !errors.Is(err, ErrCodecContainer) {
		t.Fatalf("h264 in .ogg: %v", err)
	}
	for _, p := range []string{exist, ogg} {
		if b, _ := os.ReadFile(p); string(b) != "keep me" {
			t.Fatalf("existing output %s was touched", p)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Fatalf("left behind: %v", es)
	}
}

func TestCloseWithoutFinishLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	w, err := Create(Options{Path: out, Width: 64, Height: 48, FrameW: 64, FrameH: 48, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1, Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	f := frame.New(64, 48)
	for i := 0; i < 5; i++ {
		f.PTS = int64(i)
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	w.Close() // idempotent
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left behind: %v", es)
	}
}

func TestCPointers(t *testing.T) {
	// The unsafe access in cmux.go relies on go-astiav's layout; check it
	// reads the same values as astiav's own accessors.
	dir := t.TempDir()
	out := filepath.Join(dir, "x.mkv")
	w, err := Create(Options{Path: out, Width: 64, Height: 48, FrameW: 64, FrameH: 48, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1, Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if int(cFormat(w.out).nb_streams) != w.out.NbStreams() || int(cStream(w.vs).index) != w.vs.Index() {
		t.Fatal("go-astiav's FormatContext/Stream layout changed: update cmux.go")
	}
}

func BenchmarkWrite(b *testing.B) { benchWrite(b, 384, 216) }

// BenchmarkWrite1080: 1920x1080 frames (x264 ultrafast, so the conversion
// and filter graph weigh in).
func BenchmarkWrite1080(b *testing.B) { benchWrite(b, 1920, 1080) }

func benchWrite(b *testing.B, fw, fh int) {
	dir := b.TempDir()
	w, err := Create(Options{Path: filepath.Join(dir, "b.mp4"), Width: fw, Height: fh, FrameW: fw, FrameH: fh, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1, Preset: "ultrafast"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	f := frame.New(fw, fh)
	for i := range f.Out {
		f.Out[i] = float32(i % 255)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.PTS = int64(i)
		if err := w.Write(f); err != nil {
			b.Fatal(err)
		}
	}
}

// -y over an existing video keeps that file's mode (a private 0600 render
// stays private).
func TestForceKeepsMode(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	os.WriteFile(out, []byte("old"), 0o600)
	w, err := Create(Options{Path: out, Force: true, Width: 64, Height: 48, FrameW: 64, FrameH: 48, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1, Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := frame.New(64, 48)
	for i := range 3 {
		f.PTS = int64(i)
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 || st.Size() < 100 {
		t.Fatalf("replaced output: %v %v", st.Mode(), err)
	}
}

// Finish stops when its context ends (a signal during a slow preset's
// flush): it returns the context's error, puts nothing in place, and Close
// leaves no temporary file.
func TestFinishCanceled(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp4")
	w, err := Create(Options{Path: out, Width: 64, Height: 48, FrameW: 64, FrameH: 48, TimeBaseNum: 1, TimeBaseDen: 25, CRF: -1, Preset: "veryslow"})
	if err != nil {
		t.Fatal(err)
	}
	f := frame.New(64, 48)
	for i := range 30 { // x264 holds these back (lookahead) until the flush
		f.PTS = int64(i)
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Finish(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish after cancel: %v", err)
	}
	w.Close()
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left behind: %v", es)
	}
}

// Concat (merge) stops when its context ends: nothing put in place, no
// temporary file; with a live context the same chunks join.
func TestConcatCanceled(t *testing.T) {
	dir := t.TempDir()
	a := testmedia.Clip(t, dir, "a.mp4", 64, 48, 25, 10, false)
	b := testmedia.Clip(t, dir, "b.mp4", 64, 48, 25, 10, false)
	out := filepath.Join(t.TempDir(), "joined.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Concat(ctx, ConcatOptions{Path: out, Chunks: []string{a, b}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Concat after cancel: %v", err)
	}
	if es, _ := os.ReadDir(filepath.Dir(out)); len(es) != 0 {
		t.Fatalf("left behind: %v", es)
	}
	// The second chunk's first frame belongs after the first's ten
	// (the clips' time base is 1/12800 at 25 fps).
	if n, err := Concat(context.Background(), ConcatOptions{Path: out, Chunks: []string{a, b}, Starts: []int64{0, 10 * 512}, StartsTBNum: 1, StartsTBDen: 12800}); err != nil || n != 20 {
		t.Fatalf("Concat: %d frames, %v", n, err)
	}
}

// Options the encoder does not have are reported, not silently dropped.
func TestIgnoredOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path, codec, preset string
		crf                 int
		want                string
	}{
		{"a.mp4", "libx264", "fast", 20, ""},
		{"b.webm", "libvpx-vp9", "fast", 30, "preset"},
		{"c.mkv", "mpeg4", "", 5, "crf"},
	} {
		w, err := Create(Options{Path: filepath.Join(dir, tc.path), Codec: tc.codec, Preset: tc.preset, CRF: tc.crf,
			Width: 64, Height: 48, FrameW: 64, FrameH: 48, TimeBaseNum: 1, TimeBaseDen: 25})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(w.Ignored(), ","); got != tc.want {
			t.Errorf("%s: ignored %q, want %q", tc.codec, got, tc.want)
		}
		w.Close()
	}
}

// Which subtitles each container takes: MPEG-TS says nothing, so its
// broadcast ones are kept and text ones (stored as data) left out.
func TestSubtitleAccepted(t *testing.T) {
	for _, tc := range []struct {
		path string
		id   astiav.CodecID
		want bool
	}{
		{"x.ts", astiav.CodecIDDvbSubtitle, true},
		{"x.ts", astiav.CodecIDDvbTeletext, true},
		{"x.ts", astiav.CodecIDSubrip, false},
		{"x.ts", astiav.CodecIDHdmvPgsSubtitle, false},
		{"x.mkv", astiav.CodecIDSubrip, true},
		{"x.mp4", astiav.CodecIDSubrip, false},
		{"x.mp4", astiav.CodecIDMovText, true},
	} {
		fc, err := astiav.AllocOutputFormatContext(nil, "", tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := subtitleAccepted(fc, tc.id); got != tc.want {
			t.Errorf("%s %s: %v", tc.path, tc.id, got)
		}
		fc.Free()
	}
}
