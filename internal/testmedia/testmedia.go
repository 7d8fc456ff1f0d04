// Package testmedia makes the test fixtures of vidnst (small clips made
// with the ffmpeg CLI from lavfi sources or derived from the shared clips)
// and inspects outputs with ffprobe. Tests only.
package testmedia

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// RepoRoot walks up from the working directory to the folder with go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("testmedia: no go.mod above the working directory")
		}
		d = p
	}
}

// Shared returns the shared data folder ($VIDNST_SHARED, else ../shared
// beside the repository), or skips the test loudly when it is absent.
func Shared(t testing.TB, sub string) string {
	t.Helper()
	d := os.Getenv("VIDNST_SHARED")
	if d == "" {
		d = filepath.Join(RepoRoot(t), "..", "shared")
	}
	p := filepath.Join(d, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("SKIP: shared data %s not found (set VIDNST_SHARED to the shared/ folder)", p)
	}
	return p
}

// Model returns the path of a shared style model (or $VIDNST_MODEL_DIR's),
// skipping loudly when absent.
func Model(t testing.TB, name string) string {
	t.Helper()
	if d := os.Getenv("VIDNST_MODEL_DIR"); d != "" {
		if p := filepath.Join(d, name+".onnx"); fileExists(p) {
			return p
		}
	}
	return Shared(t, filepath.Join("models", name+".onnx"))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// NeedFFmpeg skips the test when the ffmpeg CLI is missing.
func NeedFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("SKIP: ffmpeg CLI not found (apt-get install ffmpeg)")
	}
}

// FFmpeg runs the ffmpeg CLI with args (after -hide_banner -y).
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	NeedFFmpeg(t)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	out, err := exec.Command("ffmpeg", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// BadFiles writes the inputs every bad-input test needs into dir: a text
// file named .mp4, a zero-byte .mp4 and an audio-only .m4a.
func BadFiles(t testing.TB, dir string) (text, empty, audio string) {
	t.Helper()
	text = filepath.Join(dir, "text.mp4")
	empty = filepath.Join(dir, "empty.mp4")
	audio = filepath.Join(dir, "audio.m4a")
	for p, data := range map[string][]byte{text: []byte("this is not a video, just some text\n"), empty: nil} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	FFmpeg(t, "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio)
	return text, empty, audio
}

// Clip makes a lavfi test clip: testsrc2 (a moving pattern with a frame
// counter) of w x h at fps for n frames, H.264 yuv420p, into dir/name.
// With audio, a 440 Hz AAC tone of the same length is added.
func Clip(t testing.TB, dir, name string, w, h, fps, n int, audio bool) string {
	t.Helper()
	p := filepath.Join(dir, name)
	dur := float64(n) / float64(fps)
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", w, h, fps)}
	if audio {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%g", dur))
	}
	args = append(args, "-frames:v", strconv.Itoa(n), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	if audio {
		args = append(args, "-c:a", "aac", "-b:a", "64k")
	}
	FFmpeg(t, append(args, p)...)
	return p
}

// Remux copies src's streams into dir/name (its container from the
// extension, e.g. ".ts") with FFmpeg, extra options before the output, and
// returns the path.
func Remux(t testing.TB, src, dir, name string, extra ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	FFmpeg(t, append(append([]string{"-i", src, "-c", "copy"}, extra...), p)...)
	return p
}

// Joined writes dir/name as the files srcs one after the other, byte for
// byte (for MPEG-TS: recordings joined, timestamps starting over or
// overlapping) and returns its path.
func Joined(t testing.TB, dir, name string, srcs ...string) string {
	t.Helper()
	var all []byte
	for _, src := range srcs {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Stream is what ffprobe says of one stream.
type Stream struct {
	Index        int               `json:"index"`
	CodecName    string            `json:"codec_name"`
	CodecType    string            `json:"codec_type"`
	Width        int               `json:"width"`
	Height       int               `json:"height"`
	PixFmt       string            `json:"pix_fmt"`
	ColorRange   string            `json:"color_range"`
	ColorSpace   string            `json:"color_space"`
	ColorTrc     string            `json:"color_transfer"`
	ColorPrim    string            `json:"color_primaries"`
	SAR          string            `json:"sample_aspect_ratio"`
	DAR          string            `json:"display_aspect_ratio"`
	NbFrames     string            `json:"nb_frames"`
	NbReadFrames string            `json:"nb_read_frames"`
	Duration     string            `json:"duration"`
	StartTime    string            `json:"start_time"`
	AvgFrameRate string            `json:"avg_frame_rate"`
	Tags         map[string]string `json:"tags"`
	SideDataList []map[string]any  `json:"side_data_list"`
	SampleRate   string            `json:"sample_rate"`
	Channels     int               `json:"channels"`
	TimeBase     string            `json:"time_base"`
}

// Probe is what ffprobe says of a file.
type Probe struct {
	Streams  []Stream `json:"streams"`
	Chapters []struct {
		StartTime string            `json:"start_time"`
		Tags      map[string]string `json:"tags"`
	} `json:"chapters"`
	Format struct {
		Duration   string            `json:"duration"`
		StartTime  string            `json:"start_time"`
		FormatName string            `json:"format_name"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
}

// FFprobe runs ffprobe (counting frames when count is set).
func FFprobe(t testing.TB, path string, count bool) *Probe {
	t.Helper()
	args := []string{"-v", "error", "-print_format", "json", "-show_streams", "-show_format", "-show_chapters"}
	if count {
		args = append(args, "-count_frames")
	}
	out, err := exec.Command("ffprobe", append(args, path)...).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return &p
}

// Stream returns the first stream of a type ("video", "audio").
func (p *Probe) Stream(typ string) *Stream {
	for i := range p.Streams {
		if p.Streams[i].CodecType == typ {
			return &p.Streams[i]
		}
	}
	return nil
}

// PacketTimes lists the presentation times (seconds) of a stream's packets
// ("v:0", "a:0"), in file order.
func PacketTimes(t testing.TB, path, stream string) []float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe packets %s: %v", path, err)
	}
	var r struct {
		Packets []struct {
			PTS string `json:"pts_time"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	ts := make([]float64, 0, len(r.Packets))
	for _, p := range r.Packets {
		v, err := strconv.ParseFloat(p.PTS, 64)
		if err == nil {
			ts = append(ts, v)
		}
	}
	return ts
}

// FramesRGB decodes a video's frames with the ffmpeg CLI to packed RGB24 at
// w x h (n frames at most; 0 = all), with the scaler flags vidnst uses.
func FramesRGB(t testing.TB, path string, w, h, n int) [][]byte {
	t.Helper()
	NeedFFmpeg(t)
	args := []string{"-v", "error", "-i", path, "-vf", fmt.Sprintf("scale=%d:%d:flags=bicubic+accurate_rnd+full_chroma_int", w, h), "-f", "rawvideo", "-pix_fmt", "rgb24"}
	if n > 0 {
		args = append(args, "-frames:v", strconv.Itoa(n))
	}
	out, err := exec.Command("ffmpeg", append(args, "-")...).Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v", path, err)
	}
	sz := w * h * 3
	var fs [][]byte
	for len(out) >= sz {
		fs = append(fs, out[:sz:sz])
		out = out[sz:]
	}
	return fs
}
