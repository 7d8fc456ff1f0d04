package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/onnxgen"
	"github.com/vidnst/vidnst/internal/testmedia"
	"github.com/vidnst/vidnst/temporal"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// ONNX Runtime and cgo keep threads of their own, not goroutines;
		// net/http's idle connections from the fetch test may linger.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// vidnst runs the CLI in-process.
func vidnst(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := vidnst(t, args...)
	if code != 0 {
		t.Fatalf("vidnst %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// tinyModels writes the test models into dir.
func tinyModels(t *testing.T, dir string) (identity, spatial string) {
	t.Helper()
	identity, spatial = filepath.Join(dir, "identity.onnx"), filepath.Join(dir, "spatial.onnx")
	if err := onnxgen.Identity(identity); err != nil {
		t.Fatal(err)
	}
	if err := onnxgen.Spatial(spatial); err != nil {
		t.Fatal(err)
	}
	return
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, e := range es {
		ns = append(ns, e.Name())
	}
	sort.Strings(ns)
	return ns
}

func sortedTimes(t *testing.T, path, stream string) []float64 {
	ts := testmedia.PacketTimes(t, path, stream)
	sort.Float64s(ts)
	return ts
}

func sameTimes(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d timestamps, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s: timestamp %d is %.4f, want %.4f", what, i, got[i], want[i])
		}
	}
}

func audioMD5(t *testing.T, path string) string {
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-c", "copy", "-f", "md5", "-").Output()
	if err != nil {
		t.Fatalf("audio md5 %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// decodeFrames decodes a file with vidnst's own decoder at w x h.
func decodeFrames(t *testing.T, path string, w, h, n int) []*frame.Frame {
	t.Helper()
	r, err := decode.Open(path, decode.Options{Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var fs []*frame.Frame
	for n <= 0 || len(fs) < n {
		f := frame.New(w, h)
		if err := r.Next(context.Background(), f); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

func psnr(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	mse := s / float64(len(a))
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

func clamp(p []float32) []float32 {
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = float32(math.Round(math.Min(255, math.Max(0, float64(v)))))
	}
	return out
}

func TestRenderKeepsFramesTimingAudio(t *testing.T) {
	dir := t.TempDir()
	id, sp := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 96, 64, 25, 30, true)
	for _, model := range []string{id, sp} {
		out := filepath.Join(dir, "out-"+filepath.Base(model)+".mp4")
		stdout := mustRun(t, in, "--style", model, out, "--preset", "ultrafast", "--progress", "none")
		if !strings.Contains(stdout, "30 frames") || !strings.Contains(stdout, out) {
			t.Fatalf("summary line: %q", stdout)
		}
		p := testmedia.FFprobe(t, out, true)
		v := p.Stream("video")
		if v.NbReadFrames != "30" || v.Width != 96 || v.Height != 64 {
			t.Fatalf("video %s frames %dx%d", v.NbReadFrames, v.Width, v.Height)
		}
		sameTimes(t, "video", sortedTimes(t, out, "v:0"), sortedTimes(t, in, "v:0"), 1e-3)
		if audioMD5(t, out) != audioMD5(t, in) {
			t.Fatal("audio not copied bit-exact")
		}
	}
	// The first frame is the model's output on the decoded first frame.
	in0 := decodeFrames(t, in, 96, 64, 1)[0]
	want := clamp(onnxgen.SpatialRef(in0.In, 96, 64))
	got := decodeFrames(t, filepath.Join(dir, "out-spatial.onnx.mp4"), 96, 64, 1)[0]
	if q := psnr(got.In, want); q < 30 {
		t.Fatalf("first frame PSNR %.1f dB against the model's output", q)
	}
	if q := psnr(got.In, in0.In); q > 25 {
		t.Fatalf("spatial model output looks like its input (PSNR %.1f)", q)
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	good := testmedia.Clip(t, dir, "good.mp4", 64, 48, 25, 5, false)
	text, empty, audio := testmedia.BadFiles(t, dir)
	notOnnx := filepath.Join(dir, "fake.onnx")
	os.WriteFile(notOnnx, []byte("hello, I am not a model"), 0o644)
	rank := filepath.Join(dir, "rank.onnx")
	if err := onnxgen.WrongRank(rank); err != nil {
		t.Fatal(err)
	}
	exists := filepath.Join(dir, "exists.mp4")
	os.WriteFile(exists, []byte("precious"), 0o644)
	link := filepath.Join(dir, "link.mp4")
	os.Symlink(good, link)
	aFile := filepath.Join(dir, "afile")
	os.WriteFile(aFile, []byte("x"), 0o644)
	out := filepath.Join(dir, "out.mp4")
	webp := filepath.Join(dir, "anim.webp") // FFmpeg 5.1 writes animated WebP but cannot read it
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-frames:v", "3", "-loop", "0", webp)
	before := listDir(t, dir)
	notUsage := map[string]bool{"image sequence pattern": true, "animated webp": true, "missing input": true,
		"text renamed mp4": true, "zero bytes": true, "audio only": true, "unwritable folder": true,
		"not onnx": true, "wrong rank": true, "style not downloaded": true}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"image sequence pattern", []string{filepath.Join(dir, "img%03d.png"), out, "--style", id}, "image sequences are not read"},
		{"animated webp", []string{webp, out, "--style", id}, "no frame size this FFmpeg can decode"},
		{"missing input", []string{filepath.Join(dir, "nope.mp4"), out, "--style", id}, "no such file"},
		{"text renamed mp4", []string{text, out, "--style", id}, "not a media file"},
		{"zero bytes", []string{empty, out, "--style", id}, "empty"},
		{"audio only", []string{audio, out, "--style", id}, "no video stream"},
		{"unwritable folder", []string{good, "/proc/vidnst-out.mp4", "--style", id}, "not writable"},
		{"missing folder", []string{good, filepath.Join(dir, "nope", "out.mp4"), "--style", id}, "does not exist"},
		{"folder is a file", []string{good, filepath.Join(aFile, "out.mp4"), "--style", id}, "is not a folder"},
		{"output is a folder", []string{good, dir, "--style", id}, "is a folder"},
		{"unknown container", []string{good, filepath.Join(dir, "out.xyz"), "--style", id}, "unknown container"},
		{"unknown codec", []string{good, out, "--style", id, "--codec", "nosuchcodec"}, "unknown encoder"},
		{"not onnx", []string{good, out, "--style", notOnnx}, "not an onnx model"},
		{"wrong rank", []string{good, out, "--style", rank}, "not image to image"},
		{"unknown style", []string{good, out, "--style", "nosuchstyle", "--models-dir", dir}, "styles found: fake, identity"},
		{"style not downloaded", []string{good, out, "--style", "udnie", "--models-dir", dir}, "vidnst models fetch udnie downloads it"},
		{"models-dir missing", []string{good, out, "--style", "candy", "--models-dir", filepath.Join(dir, "nope")}, "--models-dir " + filepath.Join(dir, "nope") + " is not a folder"},
		{"output exists", []string{good, exists, "--style", id}, "exists"},
		{"output is input", []string{good, good, "--style", id, "-y"}, "is the input"},
		{"output is input via symlink", []string{good, link, "--style", id, "-y"}, "is the input"},
		{"bad range", []string{good, out, "--style", id, "--frames", "9-3"}, "--frames"},
		{"range past end", []string{good, out, "--style", id, "--start", "50f"}, "range"},
		{"start far past end", []string{good, out, "--style", id, "--start", "1e20"}, "no frame of " + good + " starts at or after --start 1e20"}, // it wrapped to frame 0 and rendered
		{"start not a number", []string{good, out, "--style", id, "--start", "nan"}, `--start "nan": want seconds`},
		{"start infinite", []string{good, out, "--style", id, "--start", "infinity"}, `--start "infinity": want seconds`},
		{"negative clock time", []string{good, out, "--style", id, "--end", "-0:00.5"}, `--end "-0:00.5": want seconds`},                // -0 passed v < 0
		{"threads too many", []string{good, out, "--style", id, "--threads", "100000"}, "--threads 100000: want 0 (all cores) to 1024"}, // ONNX Runtime aborted making them
		{"huge width", []string{good, out, "--style", id, "--width", "100000"}, "--width 100000: want 1..8192"},
		{"negative max-side", []string{good, out, "--style", id, "--max-side", "-1"}, "--max-side -1"},
		{"max-side with width", []string{good, out, "--style", id, "--max-side", "32", "--width", "40"}, "give --max-side or --width/--height, not both"},
		{"crf too high", []string{good, out, "--style", id, "--crf", "99"}, "--crf 99: want 0..51 for libx264"},
		{"crf negative", []string{good, out, "--style", id, "--crf", "-5"}, "--crf -5"},
		{"crf too high for vp9", []string{good, filepath.Join(dir, "o.webm"), "--style", id, "--crf", "64"}, "0..63 for libvpx-vp9"},
		{"unknown preset", []string{good, out, "--style", id, "--preset", "bogus"}, `--preset "bogus"`},
		{"named preset for svt-av1", []string{good, filepath.Join(dir, "o.mkv"), "--style", id, "--codec", "libsvtav1", "--preset", "medium"}, `--preset "medium": want -1 (the encoder's default) to 13 for libsvtav1`},
		{"svt-av1 preset too high", []string{good, filepath.Join(dir, "o.mkv"), "--style", id, "--codec", "libsvtav1", "--preset", "14"}, `--preset "14": want -1`},
		{"strength nan", []string{good, out, "--style", id, "--strength", "nan"}, "--strength NaN"},
		{"negative threads", []string{good, out, "--style", id, "--threads", "-3"}, "--threads -3"},
		{"pixel format the encoder refuses", []string{good, out, "--style", id, "--pix-fmt", "rgb24"}, "libx264 does not take pixel format rgb24"},
		{"audio encoder as --codec", []string{good, out, "--style", id, "--codec", "aac"}, "does not encode video"},
		{"container that refuses the codec", []string{good, filepath.Join(dir, "o.ogg"), "--style", id}, "the .ogg container refused the streams"},
		{"zero duration", []string{good, out, "--style", id, "--duration", "0"}, "empty range"},
		{"end at zero", []string{good, out, "--style", id, "--end", "0"}, "empty range"},
		{"huge batch", []string{good, out, "--style", id, "--batch", "100000"}, "--batch 100000"},
		{"unknown hwaccel", []string{good, out, "--style", id, "--hwaccel", "vaapi"}, `--hwaccel "vaapi": want cuda or none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := vidnst(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", stdout)
			}
			// 2 for what the command line must change; 1 for a bad
			// input file, model or folder.
			if want := map[bool]int{true: 1, false: 2}[notUsage[tc.name]]; code != want {
				t.Errorf("exit %d, want %d (%q)", code, want, stderr)
			}
			if strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one line mentioning %q", stderr, tc.want)
			}
		})
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("files changed:\nbefore %v\nafter  %v", before, after)
	}
	if b, _ := os.ReadFile(exists); string(b) != "precious" {
		t.Fatal("existing output overwritten")
	}
}

func TestCorruptAndTruncatedInputs(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	src := testmedia.Clip(t, dir, "src.mp4", 96, 64, 25, 60, false)
	ts := filepath.Join(dir, "src.ts")
	testmedia.FFmpeg(t, "-i", src, "-c", "copy", ts)
	b, _ := os.ReadFile(ts)
	corrupt := append([]byte(nil), b...)
	for i := len(b) * 4 / 10; i < len(b)*5/10; i++ {
		corrupt[i] = byte(i * 7)
	}
	cpath := filepath.Join(dir, "corrupt.ts")
	os.WriteFile(cpath, corrupt, 0o644)
	tpath := filepath.Join(dir, "truncated.ts")
	os.WriteFile(tpath, b[:len(b)/2], 0o644)
	for _, in := range []string{cpath, tpath} {
		out := strings.TrimSuffix(in, ".ts") + "-out.mp4"
		code, stdout, stderr := vidnst(t, in, out, "--style", id, "--preset", "ultrafast", "--progress", "none")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", in, code, stderr)
		}
		v := testmedia.FFprobe(t, out, true).Stream("video")
		if v == nil || v.NbReadFrames == "0" {
			t.Fatalf("%s: no valid video written (%s)", in, stdout)
		}
		if in == cpath && !strings.Contains(stderr, "dropped") {
			t.Logf("corrupt input decoded without dropping frames (%s frames): %s", v.NbReadFrames, stderr)
		}
	}
}

func TestInterruptLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 320, 240, 25, 400, false)
	out := filepath.Join(dir, "out.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var e bytes.Buffer
	go func() { done <- run(ctx, []string{in, out, "--style", id, "--progress", "none"}, io.Discard, &e) }()
	time.Sleep(700 * time.Millisecond)
	t0 := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != 130 || time.Since(t0) > time.Second {
			t.Fatalf("exit %d after %v: %s", code, time.Since(t0), e.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not stop")
	}
	for _, n := range listDir(t, dir) {
		if n != "in.mp4" && n != "identity.onnx" && n != "spatial.onnx" {
			t.Fatalf("left behind: %s", n)
		}
	}
}

// The real binary, stopped by a signal a terminal or a shell sends mid-render
// (SIGHUP: the terminal closed; SIGPIPE: stderr piped into a reader that
// quit), exits non-zero and leaves no partial file behind.
func TestSignalsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	bin := buildVidnst(t, t.TempDir())
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 320, 240, 25, 400, false)
	for _, sig := range []string{"HUP", "PIPE"} {
		out := filepath.Join(dir, "out-"+sig+".mp4")
		cmd := exec.Command(bin, in, out, "--style", id, "--progress", "lines")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if sig == "PIPE" {
			r.Close() // the next progress line meets a closed pipe
		} else {
			go io.Copy(io.Discard, r)
			time.Sleep(700 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGHUP)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("SIG%s: exit 0", sig)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("SIG%s: did not stop", sig)
		}
		if sig == "HUP" {
			r.Close()
		}
		for _, n := range listDir(t, dir) {
			if n != "in.mp4" && n != "identity.onnx" && n != "spatial.onnx" {
				t.Errorf("SIG%s: left behind: %s", sig, n)
			}
		}
	}
}

func TestProgressLines(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 10, false)
	code, _, stderr := vidnst(t, in, filepath.Join(dir, "o.mp4"), "--style", id, "--progress", "lines")
	if code != 0 || !strings.Contains(stderr, "progress: 10/10 frames 100.0%") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = vidnst(t, in, filepath.Join(dir, "o.mp4"), "--style", id, "--progress", "json", "-y")
	if code != 0 || !strings.Contains(stderr, `"frames":10`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestModelsCommands(t *testing.T) {
	dir := t.TempDir()
	tinyModels(t, dir)
	out := mustRun(t, "models", "list", "--models-dir", dir)
	if !strings.Contains(out, "identity") || !strings.Contains(out, "spatial") {
		t.Fatalf("list: %q", out)
	}
	out = mustRun(t, "models", "info", filepath.Join(dir, "identity.onnx"))
	if !strings.Contains(out, "input1") || !strings.Contains(out, "output1") {
		t.Fatalf("info: %q", out)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestSharedClips renders the real shared clips (and harder cases derived
// from them with FFmpeg) with a real style model at small sizes.
func TestSharedClips(t *testing.T) {
	videos := testmedia.Shared(t, "videos")
	candy := testmedia.Model(t, "candy")
	dir := t.TempDir()
	car := filepath.Join(videos, "car-detection.mp4")
	rot := filepath.Join(dir, "rotated.mp4")
	testmedia.FFmpeg(t, "-i", car, "-t", "2", "-c", "copy", "-metadata:s:v:0", "rotate=90", rot)
	odd := filepath.Join(dir, "odd.mkv")
	testmedia.FFmpeg(t, "-i", car, "-t", "1", "-vf", "scale=301:171", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-an", odd)
	vfr := filepath.Join(dir, "vfr.mkv")
	// Variable frame rate: frames 0-14 at 30 fps, then a 0.4 s gap, then every other frame.
	testmedia.FFmpeg(t, "-i", filepath.Join(videos, "asl-help.mkv"), "-vf", "select='lt(n,15)+not(mod(n,2))',setpts='if(lt(N,15),N/30,(N+12)/30)/TB'",
		"-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", vfr)
	for _, tc := range []struct {
		name     string
		in       string
		args     []string
		w, h     int // expected output size
		audio    bool
		checkRef bool // compare frame 0 with the model's output
	}{
		{"car with audio", car, []string{"--max-side", "128", "--output-size", "processing"}, 128, 72, true, true},
		{"full-range mkv", filepath.Join(videos, "asl-walk.mkv"), []string{"--max-side", "96"}, 640, 480, false, false},
		{"variable frame rate", vfr, []string{"--max-side", "96"}, 640, 480, false, false},
		{"rotated", rot, []string{"--max-side", "96"}, 432, 768, true, false},
		{"odd size", odd, []string{"--max-side", "96"}, 300, 170, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-")+".mp4")
			args := append([]string{tc.in, out, "--style", candy, "--preset", "ultrafast", "--progress", "none"}, tc.args...)
			mustRun(t, args...)
			p := testmedia.FFprobe(t, out, true)
			v := p.Stream("video")
			if v.Width != tc.w || v.Height != tc.h {
				t.Fatalf("output %dx%d, want %dx%d", v.Width, v.Height, tc.w, tc.h)
			}
			for _, sd := range v.SideDataList {
				if r, ok := sd["rotation"]; ok && r != float64(0) {
					t.Fatalf("output still carries a rotation: %v", sd)
				}
			}
			sameTimes(t, "video", sortedTimes(t, out, "v:0"), sortedTimes(t, tc.in, "v:0"), 2e-3)
			if tc.audio {
				if p.Stream("audio") == nil || audioMD5(t, out) != audioMD5(t, tc.in) {
					t.Fatal("audio missing or not bit-exact")
				}
			}
			if tc.name == "rotated" {
				// Upright: matches ffmpeg's own autorotated decode.
				ref := testmedia.FramesRGB(t, tc.in, 54, 96, 1)[0]
				got := testmedia.FramesRGB(t, out, 54, 96, 1)[0]
				if d := meanAbsRGB(ref, got); d > 60 {
					t.Fatalf("rotated output differs from the upright input by %.1f", d)
				}
			}
			if tc.checkRef {
				in0 := decodeFrames(t, tc.in, tc.w, tc.h, 1)[0]
				s := newSession(t, candy, tc.w, tc.h)
				s.Run([][]float32{in0.In}, [][]float32{in0.Out})
				got := decodeFrames(t, out, tc.w, tc.h, 1)[0]
				if q := psnr(got.In, clamp(in0.Out)); q < 30 {
					t.Fatalf("frame 0 PSNR %.1f dB against candy on the decoded frame", q)
				}
			}
		})
	}
}

// meanAbsRGB compares the luminance structure of two packed RGB frames
// (the stylized output keeps edges, not colours).
func meanAbsRGB(a, b []byte) float64 {
	s := 0.0
	for i := 0; i+2 < len(a); i += 3 {
		la := 0.299*float64(a[i]) + 0.587*float64(a[i+1]) + 0.114*float64(a[i+2])
		lb := 0.299*float64(b[i]) + 0.587*float64(b[i+1]) + 0.114*float64(b[i+2])
		s += math.Abs(la - lb)
	}
	return s / float64(len(a)/3)
}

// TestInterruptDuringInference: SIGINT (a canceled context) ends a render
// within a second even while a large frame is in the network.
func TestInterruptDuringInference(t *testing.T) {
	candy := testmedia.Model(t, "candy")
	dir := t.TempDir()
	in := testmedia.Clip(t, dir, "in.mp4", 1280, 720, 25, 10, false)
	out := filepath.Join(dir, "out.mp4")
	interruptRun(t, []string{in, out, "--style", candy, "--progress", "none"})
	if n := listDir(t, dir); len(n) != 1 {
		t.Fatalf("left behind: %v", n)
	}
}

// interruptRun runs vidnst with args, cancels its context (as SIGINT
// does) once the model is loaded and the first frame is in the network,
// and fails t unless it exits 130 within a second of that.
func interruptRun(t *testing.T, args []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, io.Discard, io.Discard) }()
	time.Sleep(1500 * time.Millisecond)
	t0 := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != 130 {
			t.Fatalf("exit %d", code)
		}
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("took %v to stop", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop")
	}
}

// A still, a contact sheet and an images run stop within a second of
// SIGINT while their frame is in the network, and write nothing (the
// frame used to finish, and the still be written, after the signal).
func TestInterruptStillInference(t *testing.T) {
	candy := testmedia.Model(t, "candy")
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	os.Mkdir(imgs, 0o755)
	photo := filepath.Join(imgs, "photo.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=1920x1080", "-frames:v", "1", photo)
	outs := filepath.Join(dir, "outs")
	os.Mkdir(outs, 0o755)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"still", []string{photo, filepath.Join(outs, "s.png"), "--style", candy}},
		{"sheet", []string{"preview", photo, "--style", candy, "--at", "0", "--max-side", "1920", "-o", filepath.Join(outs, "sheet.png")}},
		{"images", []string{"images", imgs, "--style", candy, "-o", filepath.Join(outs, "new", "folders")}}, // made, and removed again
	} {
		t.Run(tc.name, func(t *testing.T) {
			interruptRun(t, append(tc.args, "--progress", "none")) // the frame takes 3 s on 2 cores
			if n := listDir(t, outs); len(n) > 0 {
				t.Fatalf("left behind: %v", n)
			}
		})
	}
}

// TestTemporalLowersWarpingError: the default temporal mode makes a real
// style on a real clip steadier than per-frame stylization, without
// washing out its detail.
func TestTemporalLowersWarpingError(t *testing.T) {
	candy := testmedia.Model(t, "candy")
	in := filepath.Join(testmedia.Shared(t, "videos"), "asl-walk.mkv")
	dir := t.TempDir()
	res := map[string]*evalResult{}
	for _, mode := range []string{"off", defaultTemporal} {
		out := filepath.Join(dir, mode+".mp4")
		mustRun(t, in, out, "--style", candy, "--max-side", "160", "--output-size", "processing", "--frames", "0-29",
			"--temporal", mode, "--crf", "12", "--preset", "ultrafast", "--progress", "none")
		r, err := evalTemporal(context.Background(), in, out, "", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		res[mode] = r
		t.Logf("%s: E_warp %.5f gradient %.4f", mode, r.ewarp, r.grad)
	}
	off, on := res["off"], res[defaultTemporal]
	if on.ewarp > 0.5*off.ewarp {
		t.Errorf("E_warp %.5f with temporal, %.5f without", on.ewarp, off.ewarp)
	}
	if on.grad < 0.85*off.grad {
		t.Errorf("detail %.4f with temporal, %.4f without", on.grad, off.grad)
	}
}

// The temporal stage gets half the cores beside a CPU network and all of
// them beside a GPU one; VIDNST_LANES overrides its lanes within reason.
func TestTemporalOptionsWorkers(t *testing.T) {
	o := defaultRenderOpts()
	cores := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		cpu  bool
		want int
	}{{true, max(1, cores/2)}, {false, cores}} {
		opt, err := temporalOptions(o, tc.cpu)
		if err != nil || opt.Workers != tc.want || opt.Lanes != 0 {
			t.Errorf("network on cpu %v: workers %d lanes %d (%v); want %d workers, default lanes", tc.cpu, opt.Workers, opt.Lanes, err, tc.want)
		}
	}
	t.Setenv("VIDNST_LANES", "1")
	if opt, err := temporalOptions(o, false); err != nil || opt.Lanes != 1 {
		t.Errorf("VIDNST_LANES=1: lanes %d, %v", opt.Lanes, err)
	}
	for _, bad := range []string{"0", "x", strconv.Itoa(cores + 1)} {
		t.Setenv("VIDNST_LANES", bad)
		if _, err := temporalOptions(o, false); err == nil || !strings.Contains(err.Error(), "VIDNST_LANES") {
			t.Errorf("VIDNST_LANES=%s: error %v", bad, err)
		}
	}
}

// --temporal-weight: 0 keeps nothing of the previous output (the stage is
// off, not silently at its default weight), 0 < a <= 1 is passed on, the
// rest is a usage error.
func TestTemporalWeight(t *testing.T) {
	for _, tc := range []struct {
		a    float64
		mode temporal.Mode
		bad  bool
	}{{0, temporal.Off, false}, {0.5, temporal.Gradient, false}, {1, temporal.Gradient, false}, {-0.1, 0, true}, {1.5, 0, true}} {
		o := defaultRenderOpts()
		o.temporalWeight = tc.a
		opt, err := temporalOptions(o, true)
		if (err != nil) != tc.bad || (!tc.bad && (opt.Mode != tc.mode || (tc.mode != temporal.Off && opt.Weight != float32(tc.a)))) {
			t.Errorf("weight %g: mode %v weight %g, %v", tc.a, opt.Mode, opt.Weight, err)
		}
	}
	if w := warmUpFor("blend", 0); w != 0 {
		t.Errorf("warm-up at weight 0: %d", w)
	}
}

// Names with a colon in the working folder ("take-1:2.mp4", an ISO time):
// FFmpeg would read "take-1" as a protocol; input, video output, still and
// the audio copier all open them.
func TestColonNames(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	src := testmedia.Clip(t, dir, "src.mp4", 64, 48, 25, 5, true)
	t.Chdir(dir)
	if err := os.Rename(src, "take-1:2.mp4"); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"2024-01-01T12:30.mp4", "still:1.png"} {
		if code, _, stderr := vidnst(t, "take-1:2.mp4", out, "--style", id); code != 0 {
			t.Fatalf("%s: exit %d: %s", out, code, stderr)
		}
		if st, err := os.Stat(out); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", out, err)
		}
	}
	if p := testmedia.FFprobe(t, filepath.Join(dir, "2024-01-01T12:30.mp4"), false); p.Stream("audio") == nil {
		t.Error("the audio was not copied")
	}
}

// A range keeps the chapters it overlaps, cut to it: not the ones that
// end where it starts or start where it ends (chapters of no length, or
// two at 0:00).
func TestRangeChapters(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	meta := filepath.Join(dir, "chapters.txt")
	var b strings.Builder
	b.WriteString(";FFMETADATA1\n")
	// Four 2 s chapters, and markers (1 ms chapters) at 1 s and 3 s.
	for _, c := range []struct {
		start, end int
		title      string
	}{{0, 2000, "A"}, {1000, 1001, "m1"}, {2000, 4000, "B"}, {3000, 3001, "m3"}, {4000, 6000, "C"}, {6000, 8000, "D"}} {
		fmt.Fprintf(&b, "[CHAPTER]\nTIMEBASE=1/1000\nSTART=%d\nEND=%d\ntitle=%s\n", c.start, c.end, c.title)
	}
	os.WriteFile(meta, []byte(b.String()), 0o644)
	in := filepath.Join(dir, "chap.mkv") // Matroska keeps chapters as given (MP4 makes each end at the next)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-i", meta, "-map_metadata", "1", "-map_chapters", "1", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", in)
	for _, tc := range []struct {
		frames string
		want   []string
	}{{"50-99", []string{"B", "m3"}}, {"40-109", []string{"A", "B", "m3", "C"}}, {"0-199", []string{"A", "m1", "B", "m3", "C", "D"}}} {
		out := filepath.Join(dir, "r"+tc.frames+".mkv")
		if code, _, stderr := vidnst(t, in, out, "--style", id, "--frames", tc.frames); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got []string
		for _, c := range testmedia.FFprobe(t, out, false).Chapters {
			got = append(got, c.Tags["title"])
		}
		slices.Sort(got) // stored in the input's order
		if slices.Sort(tc.want); !slices.Equal(got, tc.want) {
			t.Errorf("--frames %s: chapters %v, want %v", tc.frames, got, tc.want)
		}
	}
}

// Command-line mistakes outside the render flags: exit 2 and one line.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 5, false)
	longer := testmedia.Clip(t, dir, "longer.mp4", 64, 48, 25, 9, false)
	many := testmedia.Clip(t, dir, "many.mp4", 64, 48, 25, 100, false)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "bogus"}, 2, `unknown command "bogus" for eval`},
		{[]string{"modles", "list"}, 2, `unknown command "modles" (did you mean models?)`},
		{[]string{"merge", filepath.Join(dir, "p.json"), filepath.Join(dir, "nope", "o.mp4")}, 1, "plan " + filepath.Join(dir, "p.json") + " does not exist"},
		{[]string{"models"}, 2, "models needs a command"},
		{[]string{"merge", filepath.Join(dir, "p.json"), filepath.Join(dir, "m.mp4"), "--wait-chunks", "-1s"}, 2, "--wait-chunks -1s: want 0 or more"},
		{[]string{"farm", "nope"}, 2, "unknown command"},
		{[]string{"render", "--plan", filepath.Join(dir, "p.json")}, 2, "needs --chunk"},
		{[]string{"render", "--chunk", "-1", in, filepath.Join(dir, "o.mp4"), "--style", id}, 2, "--chunk and --out-dir go with --plan"},
		{[]string{in, filepath.Join(dir, "o.mp4")}, 2, "no style given"},
		{[]string{"eval", "temporal", in, longer}, 1, "not a render of it"},
		{[]string{"eval", "temporal", in, in, "--frames", "-1"}, 2, "--frames -1: want 2 or more (0: all)"},
		{[]string{"eval", "temporal", in, in, "--frames", "1"}, 2, "--frames 1: want 2 or more"},
		{[]string{"eval", "temporal", in, in, "--from", "5"}, 2, "eval: --from 5: " + in + " has 5 frames: range outside the video"}, // exit 1 at exactly the end
		{[]string{"plan", in, "--style", id, "--chunks", "0", "-o", filepath.Join(dir, "p0.json")}, 2, "--chunks 0: want 1 or more"},
		{[]string{"plan", in, "--style", id, "--chunk-seconds", "-5", "-o", filepath.Join(dir, "p0.json")}, 2, "--chunk-seconds -5: want more than 0"},
		{[]string{"plan", in, "--style", id, "-o", filepath.Join(dir, "p0.json")}, 2, "give --chunks N or --chunk-seconds S"},
		// Integers are decimal: pflag read 0x10 as 16 and 010 as 8.
		{[]string{"plan", in, "--style", id, "--chunks", "0x10", "-o", filepath.Join(dir, "p0.json")}, 2, `invalid argument "0x10" for "--chunks" flag: "0x10" is not a whole number`},
		{[]string{"plan", in, "--style", id, "--chunks", "2", "-o", filepath.Join(dir, "nope", "p.json")}, 2, "output folder " + filepath.Join(dir, "nope") + " does not exist"},
		{[]string{"bench", in, "--style", id, "--bench-frames", "0"}, 2, "--bench-frames 0: want 1 or more"},
		// The frames bench holds are bounded (100000 filled 22 GB).
		{[]string{"bench", "--style", id, "--bench-frames", "100000"}, 2, "--bench-frames 100000: that many frames of 384x216 take 199.1 GB; at most 2009 at this size"},
		{[]string{"bench", "--style", id, "--bench-frames", "9223372036854775807"}, 2, "--bench-frames 9223372036854775807: that many"}, // n*per wrapped around
		{[]string{"bench", many, "--style", id, "--size", "8192x8192", "--bench-frames", "9223372036854775807"}, 2, "at most 2 at this size"},
		{[]string{"bench", many, "--style", id, "--size", "1920x1080", "--bench-frames", "100"}, 2, "at most 80 at this size"},
		{[]string{"bench", "--style", id, "--width", "100"}, 2, "--width does not apply: without INPUT, bench times frames of --size"},
		{[]string{"bench", in, "--style", id, "--size", "64x64", "--max-side", "128"}, 2, "--max-side does not apply: --size gives the size"},
		{[]string{in, filepath.Join(dir, "t.mp4"), "--style", id, "--temporal", "off", "--flow-preset", "bogus"}, 2, `--flow-preset "bogus": want fast or medium`},
		{[]string{in, filepath.Join(dir, "big.mp4"), "--style", id, "--height", "8000"}, 2, "the network would run at 10668x8000, more than 8192 on a side"},
		// An output name whose container cannot hold the default codec.
		{[]string{in, filepath.Join(dir, "o.bmp"), "--style", id}, 2, ".bmp: container cannot hold this codec libx264"},
		{[]string{in, filepath.Join(dir, "o.gif"), "--style", id}, 2, "the .gif container refused the streams (h264 video)"},
	} {
		code, _, stderr := vidnst(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	// plan's help gives the plan's own temporal defaults.
	if code, stdout, _ := vidnst(t, "plan", "--help"); code != 0 || !strings.Contains(stdout, `(default "blend")`) || !strings.Contains(stdout, "(default 0.8)") {
		t.Errorf("plan --help: exit %d, temporal defaults not blend and 0.8: %s", code, stdout)
	}
	if code, stdout, _ := vidnst(t, "plan", longer, "--style", id, "--chunks", "03", "-o", filepath.Join(dir, "p03.json")); code != 0 || !strings.Contains(stdout, "plan of 3 chunks") {
		t.Errorf("--chunks 03: exit %d, %q", code, stdout)
	}
	if code, stdout, _ := vidnst(t, "plan", many, "--style", id, "--chunks", "010", "-o", filepath.Join(dir, "p010.json")); code != 0 || !strings.Contains(stdout, "plan of 10 chunks") {
		t.Errorf("--chunks 010 (octal 8 before): exit %d, %q", code, stdout)
	}
	// More chunks than frames: said, and one frame a chunk.
	code, stdout, stderr := vidnst(t, "plan", in, "--style", id, "--chunks", "9", "-o", filepath.Join(dir, "p9.json"))
	if code != 0 || !strings.Contains(stderr, "--chunks 9: "+in+" has 5 frames, so the plan has 5 chunks of one frame") || !strings.Contains(stdout, "plan of 5 chunks") {
		t.Errorf("--chunks 9 of 5 frames: exit %d, %q %q", code, stdout, stderr)
	}
	// --fp16 of a named style runs its fp16 variant, and says that is no
	// faster on the CPU, also when --device auto falls back to it.
	os.Mkdir(filepath.Join(dir, "fp16"), 0o755)
	if err := onnxgen.Identity(filepath.Join(dir, "fp16", "identity-fp16.onnx")); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"cpu", "auto"} {
		code, _, stderr := vidnst(t, in, filepath.Join(dir, "fp16-"+dev+".mp4"), "--style", "identity", "--models-dir", dir, "--fp16", "--device", dev, "--progress", "none")
		switch {
		case dev == "auto" && strings.Contains(stderr, "inference on cuda"):
			t.Logf("--device auto found CUDA: no CPU warning to check")
		case code != 0 || strings.Count(stderr, "--fp16 on the CPU is no faster") != 1:
			t.Errorf("--fp16 --device %s: exit %d, %q", dev, code, stderr)
		}
	}
	// --fp16 with a model file: said, not silently ignored.
	code, _, stderr = vidnst(t, in, filepath.Join(dir, "f.mp4"), "--style", id, "--fp16", "--progress", "none")
	if code != 0 || !strings.Contains(stderr, "is used as it is") {
		t.Errorf("--fp16 with a file: exit %d, %q", code, stderr)
	}
}

// eval temporal on a range render: --from pairs OUTPUT's frames with the
// INPUT frames they came from.
func TestEvalFrom(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 96, 64, 25, 40, false)
	out := filepath.Join(dir, "r.mp4")
	mustRun(t, in, out, "--style", id, "--frames", "20-29", "--temporal", "off", "--crf", "0", "--progress", "none")
	off, err := evalTemporal(context.Background(), in, out, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	from, err := evalTemporal(context.Background(), in, out, "", 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	if !(from.ewarp < 0.75*off.ewarp) || from.pairs != 9 {
		t.Fatalf("E_warp with --from 20: %g (%d pairs); without: %g", from.ewarp, from.pairs, off.ewarp)
	}
	// Without --from, the command notes that OUTPUT ended first.
	for _, tc := range []struct {
		args []string
		note bool
	}{{nil, true}, {[]string{"--from", "20"}, false}, {[]string{"--from", "0"}, false}, {[]string{"--frames", "10"}, false}} {
		code, _, stderr := vidnst(t, append([]string{"eval", "temporal", in, out}, tc.args...)...)
		if has := strings.Contains(stderr, "its 10 frames were compared with "+in+"'s first; for a render of --frames A-B give --from A"); code != 0 || has != tc.note {
			t.Errorf("eval temporal %v: exit %d, %q (note wanted: %v)", tc.args, code, stderr, tc.note)
		}
	}
}

// flow and eval temporal refuse frames too small for optical flow with one
// line (they panicked), and eval's --from past the end names the range.
func TestFlowEvalTooSmall(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=12x8", "-frames:v", "1", a)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=12x8", "-frames:v", "1", b)
	tiny := testmedia.Clip(t, dir, "tiny.mp4", 12, 8, 25, 5, false)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 5, false)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"flow", a, b, "-o", filepath.Join(dir, "f.flo")}, 1, "flow: the images are 12x8, too small for optical flow (16 px on a side at least)"},
		{[]string{"eval", "temporal", tiny, tiny}, 1, "is 12x8, too small for optical flow"},
		{[]string{"eval", "temporal", in, in, "--size", "15x15"}, 2, "--size 15x15: too small for optical flow"},
		{[]string{"eval", "temporal", in, in, "--size", "10000x10000"}, 2, `--size "10000x10000": want WxH, each side 4..8192`},
		{[]string{"eval", "temporal", in, in, "--from", "100"}, 2, "eval: --from 100: " + in + " has 5 frames: range outside the video"},
	} {
		code, _, stderr := vidnst(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "f.flo")); err == nil {
		t.Error("flow wrote f.flo")
	}
}

// A range that starts while a subtitle is on screen keeps that subtitle,
// from the range's start on.
func TestRangeKeepsSubtitleOnScreen(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	v := filepath.Join(dir, "v.mp4") // keyframes every 10 frames: the range seeks past the cue's start
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "75", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", v)
	srt := filepath.Join(dir, "s.srt")
	// Two cues at once (top and bottom line): equal timestamps, both kept.
	os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:02,000\nHello\n\n2\n00:00:00,000 --> 00:00:02,000\nBottom\n\n3\n00:00:02,000 --> 00:00:03,000\nWorld\n"), 0o644)
	in := filepath.Join(dir, "in.mkv")
	testmedia.FFmpeg(t, "-i", v, "-i", srt, "-map", "0", "-map", "1", "-c", "copy", in)
	out := filepath.Join(dir, "out.mkv")
	mustRun(t, in, out, "--style", id, "--start", "1", "--progress", "none")
	got := filepath.Join(dir, "got.srt")
	testmedia.FFmpeg(t, "-i", out, "-map", "0:s", got)
	b, _ := os.ReadFile(got)
	if !strings.Contains(string(b), "00:00:00,000 --> 00:00:01,000\nHello") || !strings.Contains(string(b), "Bottom") || !strings.Contains(string(b), "World") {
		t.Fatalf("subtitles of the range:\n%s", b)
	}
	// A cue on screen at the range's end ends with it.
	short := filepath.Join(dir, "short.mkv")
	mustRun(t, in, short, "--style", id, "--start", "1", "--end", "1.5", "--progress", "none")
	got2 := filepath.Join(dir, "got2.srt")
	testmedia.FFmpeg(t, "-i", short, "-map", "0:s", got2)
	if b, _ := os.ReadFile(got2); !strings.Contains(string(b), "00:00:00,000 --> 00:00:00,5") || strings.Contains(string(b), "World") { // the video range ends at a frame: 1.52 s
		t.Fatalf("subtitles of [1, 1.5):\n%s", b)
	}
}

// Frames too small for optical flow render without the temporal stage,
// with a warning (it failed the render).
func TestTinyFramesSkipTemporal(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 8, 8, 25, 5, false)
	code, _, stderr := vidnst(t, in, filepath.Join(dir, "o.mp4"), "--style", id, "--progress", "none")
	if code != 0 || !strings.Contains(stderr, "too small for the temporal stage") {
		t.Fatalf("8x8: exit %d, %q", code, stderr)
	}
}

// models fetch skips a file already in the folder it writes to, and only
// there; -y fetches again.
func TestModelsFetchTarget(t *testing.T) {
	dir := t.TempDir()
	have := filepath.Join(dir, "have")
	os.Mkdir(have, 0o755)
	os.WriteFile(filepath.Join(have, "candy.onnx"), []byte("x"), 0o644)
	code, stdout, _ := vidnst(t, "models", "fetch", "candy", "--models-dir", have)
	if code != 0 || !strings.Contains(stdout, "already at "+filepath.Join(have, "candy.onnx")) {
		t.Fatalf("fetch into a folder that has it: exit %d, %q", code, stdout)
	}
	// Elsewhere (here $VIDNST_MODEL_DIR may hold it too): it tries the
	// download; a closed port stands in for the network.
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	for _, args := range [][]string{{"--models-dir", filepath.Join(dir, "empty")}, {"--models-dir", have, "-y"}} {
		if code, _, stderr := vidnst(t, append([]string{"models", "fetch", "candy"}, args...)...); code != 1 || !strings.Contains(stderr, "cannot download candy") {
			t.Errorf("fetch %v: exit %d, %q", args, code, stderr)
		}
	}
}

// A CPU render at a large input size says what --max-side would save; not
// when a size was asked for.
func TestBigOnCPUNote(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 1920, 1080, 25, 1, false)
	_, _, stderr := vidnst(t, in, filepath.Join(dir, "a.mp4"), "--style", id, "--temporal", "off", "--progress", "none", "--preset", "ultrafast")
	if !strings.Contains(stderr, "--max-side 1280 (1280x720) would be about 2.2x faster") {
		t.Errorf("no note: %q", stderr)
	}
	_, _, stderr = vidnst(t, in, filepath.Join(dir, "b.mp4"), "--style", id, "--temporal", "off", "--progress", "none", "--preset", "ultrafast", "--width", "1920")
	if strings.Contains(stderr, "note:") {
		t.Errorf("note despite --width: %q", stderr)
	}
}

// Unusual footage: what is kept, and what is said on stderr.
func TestUnusualInputs(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	src := []string{"-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-frames:v", "4"}
	mk := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		testmedia.FFmpeg(t, append(append(append([]string{}, src...), args...), p)...)
		return p
	}
	render := func(in, out string, args ...string) (string, *testmedia.Probe) {
		t.Helper()
		code, _, stderr := vidnst(t, append([]string{in, out, "--style", id, "--progress", "none", "--preset", "ultrafast"}, args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", filepath.Base(in), code, stderr)
		}
		return stderr, testmedia.FFprobe(t, out, false)
	}
	// HDR: tags kept, and a warning.
	pq := mk("pq.mkv", "-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le",
		"-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc")
	stderr, p := render(pq, filepath.Join(dir, "pq-out.mkv"))
	if v := p.Stream("video"); v.ColorTrc != "smpte2084" || v.ColorPrim != "bt2020" || !strings.Contains(stderr, "is HDR (PQ)") {
		t.Errorf("PQ input: output transfer %q primaries %q; stderr %q", v.ColorTrc, v.ColorPrim, stderr)
	}
	// 10-bit SDR: a note on the precision.
	ten := mk("ten.mkv", "-c:v", "libx265", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le")
	if stderr, _ := render(ten, filepath.Join(dir, "ten-out.mkv")); !strings.Contains(stderr, "is 10-bit: vidnst works in 8 bits per channel") {
		t.Errorf("10-bit input: stderr %q", stderr)
	}
	// Alpha: a note that transparency is not kept, where there is some
	// (an opaque RGBA picture gets none).
	for _, c := range []struct {
		color string
		note  bool
	}{{"red@0.0", true}, {"red@0.5", true}, {"red", false}} {
		rgba := filepath.Join(dir, "alpha.png")
		testmedia.FFmpeg(t, "-y", "-f", "lavfi", "-i", "color="+c.color+":s=64x48,format=rgba", "-frames:v", "1", rgba)
		code, _, stderr := vidnst(t, rgba, filepath.Join(dir, "alpha-out.png"), "--style", id, "-y")
		if code != 0 || strings.Contains(stderr, "is partly transparent: vidnst stylizes the colours under its alpha") != c.note {
			t.Errorf("RGBA input of %s: exit %d, stderr %q (note wanted: %v)", c.color, code, stderr, c.note)
		}
	}
	// Interlaced: deinterlaced and said so (frames and their count kept),
	// or with --deinterlace off a warning and the fields as they are.
	il := mk("il.mkv", "-vf", "tinterlace=interleave_top,setfield=tff", "-flags", "+ilme+ildct", "-c:v", "libx264", "-x264opts", "tff=1")
	var ils [][][]byte
	for _, c := range []struct{ flag, says string }{
		{"auto", "is interlaced (top field first): deinterlacing it"},
		{"off", "is interlaced (top field first): with --deinterlace off"},
	} {
		out := filepath.Join(dir, "il-"+c.flag+".mp4")
		stderr, p := render(il, out, "--deinterlace", c.flag)
		if !strings.Contains(stderr, c.says) || p.Stream("video") == nil {
			t.Errorf("interlaced input, --deinterlace %s: stderr %q", c.flag, stderr)
		}
		ils = append(ils, testmedia.FramesRGB(t, out, 128, 96, 5))
	}
	// eval takes the flow between deinterlaced input frames (and not
	// between a progressive input's).
	if code, stdout, stderr := vidnst(t, "eval", "temporal", il, filepath.Join(dir, "il-auto.mp4"), "--size", "64x48"); code != 0 || !strings.Contains(stdout, "pairs") {
		t.Errorf("eval of the interlaced render: exit %d, %q %q", code, stdout, stderr)
	}
	for _, c := range []struct {
		path  string
		deint bool
	}{{il, true}, {ten, false}} {
		ii, err := decode.Probe(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if o := evalInput(ii, 64, 48); o.Deinterlace != c.deint {
			t.Errorf("eval decodes %s (field order %q) with deinterlacing %v, want %v", filepath.Base(c.path), ii.FieldOrder, o.Deinterlace, c.deint)
		}
	}
	if len(ils[0]) != 4 || len(ils[1]) != 4 {
		t.Errorf("interlaced input: %d frames out deinterlaced, %d not; want 4 each", len(ils[0]), len(ils[1]))
	} else if bytes.Equal(ils[0][1], ils[1][1]) {
		t.Error("interlaced input: the same pixels deinterlaced or not")
	}
	if code, _, stderr := vidnst(t, il, filepath.Join(dir, "il-x.mp4"), "--style", id, "--deinterlace", "maybe"); code != 2 || !strings.Contains(stderr, "--deinterlace \"maybe\": want auto, on or off") {
		t.Errorf("--deinterlace maybe: exit %d, %q", code, stderr)
	}
	// Anamorphic (SAR 64:45, shown 16:9): the network runs on the picture
	// as shown; the output keeps the stored size and SAR, or is square at
	// the processing size.
	ana := filepath.Join(dir, "ana.mp4")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=720x576:r=10", "-frames:v", "3", "-vf", "setsar=64/45", "-c:v", "libx264", "-preset", "ultrafast", ana)
	for _, tc := range []struct {
		args     []string
		w, h     int
		sar, dar string
	}{
		{[]string{"--max-side", "96"}, 720, 576, "64:45", "16:9"},
		{[]string{"--max-side", "96", "--output-size", "processing"}, 96, 56, "1:1", "12:7"},
	} {
		_, p := render(ana, filepath.Join(dir, "ana-out.mp4"), append(tc.args, "-y")...)
		if v := p.Stream("video"); v.Width != tc.w || v.Height != tc.h || v.SAR != tc.sar || v.DAR != tc.dar {
			t.Errorf("anamorphic %v: %dx%d SAR %s DAR %s, want %dx%d %s %s", tc.args, v.Width, v.Height, v.SAR, v.DAR, tc.w, tc.h, tc.sar, tc.dar)
		}
	}
	// Turned a quarter (a phone's display matrix), the pixel shape turns
	// with the picture.
	anaRot := filepath.Join(dir, "ana-rot.mp4")
	testmedia.FFmpeg(t, "-i", ana, "-c", "copy", "-metadata:s:v:0", "rotate=90", anaRot)
	if _, p := render(anaRot, filepath.Join(dir, "ana-rot-out.mp4"), "--max-side", "96"); p.Stream("video").SAR != "45:64" || p.Stream("video").DAR != "9:16" {
		t.Errorf("rotated anamorphic: SAR %s DAR %s, want 45:64 9:16", p.Stream("video").SAR, p.Stream("video").DAR)
	}
	mustRun(t, ana, filepath.Join(dir, "ana.png"), "--style", id)
	if b := readPNG(t, filepath.Join(dir, "ana.png")).Bounds(); b.Dx() != 1024 || b.Dy() != 576 {
		t.Errorf("still of an anamorphic video: %v, want 1024x576 (square pixels)", b.Size())
	}
	// Cover art is no video; a second video stream is named.
	cover := filepath.Join(dir, "cover.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1", cover)
	song := filepath.Join(dir, "song.m4a")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "sine=duration=1", "-i", cover, "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "copy", "-disposition:v:0", "attached_pic", song)
	if code, _, stderr := vidnst(t, song, filepath.Join(dir, "song.mp4"), "--style", id); code != 1 || !strings.Contains(stderr, "no video stream") {
		t.Errorf("audio with cover art: exit %d, %q", code, stderr)
	}
	withCover := filepath.Join(dir, "with-cover.mp4")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-i", cover, "-map", "0", "-map", "1", "-t", "0.4",
		"-c:v:0", "libx264", "-c:v:1", "png", "-disposition:v:1", "attached_pic", withCover)
	if stderr, p := render(withCover, filepath.Join(dir, "with-cover-out.mp4")); p.Stream("video").Width != 128 || !strings.Contains(stderr, "has cover art (1 picture): it is left out") {
		t.Errorf("video with cover art: %dx%d, stderr %q", p.Stream("video").Width, p.Stream("video").Height, stderr)
	}
	one := mk("one.mp4", "-c:v", "libx264")
	two := filepath.Join(dir, "two.mp4")
	testmedia.FFmpeg(t, "-i", one, "-i", one, "-map", "0", "-map", "1", "-c", "copy", two)
	if stderr, _ := render(two, filepath.Join(dir, "two-out.mp4")); !strings.Contains(stderr, "has 1 more video stream besides stream 0: only stream 0 is stylized") {
		t.Errorf("two video streams: stderr %q", stderr)
	}
	// An attached file (a subtitle's font) is kept in .mkv, and said to
	// be left out of .mp4.
	font := filepath.Join(dir, "f.ttf")
	os.WriteFile(font, []byte("not really a font"), 0o644)
	att := mk("att.mkv", "-c:v", "libx264", "-attach", font, "-metadata:s:t", "mimetype=application/x-truetype-font")
	render(att, filepath.Join(dir, "att-out.mkv"))
	testmedia.FFmpeg(t, "-dump_attachment:t:0", filepath.Join(dir, "dumped.ttf"), "-i", filepath.Join(dir, "att-out.mkv"), "-frames:v", "1", "-f", "null", "-")
	if b, err := os.ReadFile(filepath.Join(dir, "dumped.ttf")); err != nil || string(b) != "not really a font" {
		t.Errorf("attachment in .mkv: %q, %v", b, err)
	}
	if stderr, _ := render(att, filepath.Join(dir, "att-out.mp4")); !strings.Contains(stderr, "attachment 1 (f.ttf) left out: .mp4 cannot hold it") {
		t.Errorf("attachment into .mp4: stderr %q", stderr)
	}
	// A stream that changes its frame size: all frames, and a warning.
	a, b := filepath.Join(dir, "a.ts"), filepath.Join(dir, "b.ts")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-frames:v", "5", "-c:v", "libx264", "-muxdelay", "0", a)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "smptebars=s=160x90:r=10", "-frames:v", "5", "-c:v", "libx264", "-output_ts_offset", "1", b)
	ab := filepath.Join(dir, "ab.ts")
	joined := append(readFile(t, a), readFile(t, b)...)
	if err := os.WriteFile(ab, joined, 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, p = render(ab, filepath.Join(dir, "ab.mp4"))
	if v := p.Stream("video"); v.Width != 128 || !strings.Contains(stderr, "changes its frame size mid-stream: 5 frames at 160x90 (not 128x96) were scaled to 128x96") {
		t.Errorf("size change: %dx%d, stderr %q", v.Width, v.Height, stderr)
	}
	// The same, interlaced (a broadcast capture across an ad break):
	// deinterlaced throughout, every frame.
	ail, bil := filepath.Join(dir, "a-il.ts"), filepath.Join(dir, "b-il.ts")
	il2 := []string{"-vf", "tinterlace=interleave_top,setfield=tff", "-flags", "+ilme+ildct", "-c:v", "libx264", "-x264opts", "tff=1"}
	testmedia.FFmpeg(t, append(append([]string{"-f", "lavfi", "-i", "testsrc2=s=128x96:r=20", "-frames:v", "5"}, il2...), "-muxdelay", "0", ail)...)
	testmedia.FFmpeg(t, append(append([]string{"-f", "lavfi", "-i", "smptebars=s=160x88:r=20", "-frames:v", "5"}, il2...), "-output_ts_offset", "1", bil)...)
	abil := testmedia.Joined(t, dir, "ab-il.ts", ail, bil)
	out := filepath.Join(dir, "ab-il.mp4")
	if stderr, _ := render(abil, out); !strings.Contains(stderr, "deinterlacing it") || !strings.Contains(stderr, "changes its frame size mid-stream") {
		t.Errorf("interlaced size change: stderr %q", stderr)
	}
	if n := testmedia.FFprobe(t, out, true).Stream("video").NbReadFrames; n != "10" {
		t.Errorf("interlaced size change: %s frames out, want 10", n)
	}
	// Lossless audio into MP4 stays lossless: FLAC (which FFmpeg 5.1's
	// MP4 muxer cannot copy) and PCM become ALAC, the same samples.
	for _, codec := range []string{"flac", "pcm_s16le"} {
		in := filepath.Join(dir, codec+".mkv")
		testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-f", "lavfi", "-i", "sine=sample_rate=48000",
			"-t", "1", "-c:v", "libx264", "-c:a", codec, in)
		out := filepath.Join(dir, codec+".mp4")
		_, p = render(in, out)
		if a := p.Stream("audio"); a == nil || a.CodecName != "alac" || decodedAudioMD5(t, in) != decodedAudioMD5(t, out) {
			t.Errorf("%s into MP4: %+v", codec, a)
		}
	}
	// 5.1 stays 5.1 when transcoded (it was mixed to stereo).
	surround := filepath.Join(dir, "surround.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-filter_complex", "[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]", "-map", "0:v", "-map", "[a]", "-t", "1", "-c:v", "libx264", "-c:a", "flac", surround)
	// 7.1: ALAC knows only 7.1(wide), which would remix it: AAC keeps it.
	surround71 := filepath.Join(dir, "surround71.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-filter_complex", "[1:a]pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0[a]", "-map", "0:v", "-map", "[a]", "-t", "1", "-c:v", "libx264", "-c:a", "flac", surround71)
	for _, tc := range []struct {
		in, out, audio, codec string
		channels              int
	}{{surround, "s.mp4", "copy", "alac", 6}, {surround, "s-aac.mp4", "aac", "aac", 6}, {surround, "s.webm", "copy", "opus", 6}, {surround71, "s71.mp4", "copy", "aac", 8}} {
		_, p = render(tc.in, filepath.Join(dir, tc.out), "--audio", tc.audio)
		if a := p.Stream("audio"); a == nil || a.CodecName != tc.codec || a.Channels != tc.channels {
			t.Errorf("%s to %s --audio %s: %+v", filepath.Base(tc.in), tc.out, tc.audio, a)
		}
	}
}

// decodedAudioMD5 is the MD5 of the first audio stream's decoded samples.
func decodedAudioMD5(t *testing.T, path string) string {
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "md5", "-").Output()
	if err != nil {
		t.Fatalf("decoded audio md5 %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --codec mjpeg works with its defaults: JPEG's full-range 4:2:0, tagged
// so (yuv420p made FFmpeg's encoder fail to open with "Invalid argument").
func TestMJPEGDefaults(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 3, false)
	out := filepath.Join(dir, "o.avi")
	mustRun(t, in, out, "--style", id, "--codec", "mjpeg", "--progress", "none")
	if s := testmedia.FFprobe(t, out, false).Stream("video"); s == nil || s.CodecName != "mjpeg" || s.PixFmt != "yuvj420p" || s.ColorRange != "pc" {
		t.Fatalf("mjpeg output: %+v", s)
	}
}

// Raw-stream outputs work with their defaults: the codec they hold, and
// the input's audio left out with a warning under --audio copy (the
// header failed); asking for an audio transcode into one is refused
// before the work, as is Opus in AVI.
func TestVideoOnlyOutputs(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 3, true)
	for _, tc := range []struct{ ext, codec string }{{".y4m", "rawvideo"}, {".ivf", "vp9"}, {".h264", "h264"}, {".hevc", "hevc"}} {
		out := filepath.Join(dir, "o"+tc.ext)
		code, _, stderr := vidnst(t, in, out, "--style", id, "--progress", "none")
		p := testmedia.FFprobe(t, out, false)
		if code != 0 || !strings.Contains(stderr, "audio stream 1 (aac) left out: "+tc.ext+" cannot hold it") || len(p.Streams) != 1 || p.Streams[0].CodecName != tc.codec {
			t.Errorf("%s: exit %d, %q, streams %+v", tc.ext, code, stderr, p.Streams)
		}
	}
	for _, tc := range []struct{ out, audio, want string }{
		{"a.y4m", "aac", ".y4m: container cannot hold this codec aac (it holds video only"},
		{"a.ivf", "opus", ".ivf: container cannot hold this codec opus"},
		{"a.avi", "opus", "the .avi container refused the streams (h264 video, opus audio from aac)"},
	} {
		code, _, stderr := vidnst(t, in, filepath.Join(dir, tc.out), "--style", id, "--audio", tc.audio, "--progress", "none")
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s --audio %s: exit %d, %q", tc.out, tc.audio, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, tc.out)); err == nil {
			t.Errorf("%s written", tc.out)
		}
	}
}

// A named style with an fp16 variant, run without --fp16: on a GPU the
// run says once what --fp16 would gain; on the CPU, with --fp16, for a
// model given by path or with -q it says nothing.
func TestFP16Note(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "fp16"), 0o755)
	for _, p := range []string{filepath.Join(dir, "candy.onnx"), filepath.Join(dir, "fp16", "candy-fp16.onnx")} {
		if err := onnxgen.Identity(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		style        string
		fp16, quiet  bool
		device, want string
	}{
		{"candy", false, false, "cuda:0", "vidnst: note: --fp16 runs candy's fp16 variant, about 1.3x as fast on a GPU"},
		{"candy", false, false, "cpu", ""},
		{"candy", true, false, "cuda:0", ""},
		{"candy", false, true, "cuda:0", ""},
		{filepath.Join(dir, "candy.onnx"), false, false, "cuda:0", ""},
	} {
		o := &renderOpts{modelsDir: dir, fp16: c.fp16, quiet: c.quiet}
		if _, err := resolveStyle(o, c.style, io.Discard); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fp16Note(o, c.device, &b)
		fp16Note(o, c.device, &b) // once
		if got := b.String(); (c.want == "" && got != "") || !strings.HasPrefix(got, c.want) || strings.Count(got, "\n") > 1 {
			t.Errorf("%s, fp16 %v, quiet %v, on %s: %q, want %q", c.style, c.fp16, c.quiet, c.device, got, c.want)
		}
	}
}
