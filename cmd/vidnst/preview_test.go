package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vidnst/vidnst/internal/onnxgen"
	"github.com/vidnst/vidnst/internal/testmedia"
)

// gopClip: 100 frames of a moving pattern with a frame counter, keyframes every 25.
func gopClip(t *testing.T, dir string, audio bool) string {
	p := filepath.Join(dir, "gop.mp4")
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25"}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=300:duration=4")
	}
	args = append(args, "-frames:v", "100", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p")
	if audio {
		args = append(args, "-c:a", "aac")
	}
	testmedia.FFmpeg(t, append(args, p)...)
	return p
}

func TestExactFrameRanges(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := gopClip(t, dir, false)
	all := decodeFrames(t, in, 96, 64, 0)
	for _, tc := range []struct {
		name  string
		args  []string
		first int
		n     int
	}{
		{"frames", []string{"--frames", "37-44"}, 37, 8},
		{"start frame + duration frames", []string{"--start", "37f", "--duration", "8f"}, 37, 8},
		{"start seconds + end", []string{"--start", "1.48", "--end", "00:00:01.800"}, 37, 8},
		{"start only", []string{"--start", "90f"}, 90, 10},
		// [1.5, 1.8): the duration counts from the time asked for, not from
		// the first frame (1.52), just as --end does.
		{"start between frames + duration", []string{"--start", "1.5", "--duration", "0.3"}, 38, 7},
		{"start between frames + end", []string{"--start", "1.5", "--end", "1.8"}, 38, 7},
		// A duration far past the end (1e300 s overflowed the timestamp
		// and gave "empty range") runs to the end.
		{"start + huge duration", []string{"--start", "1.5", "--duration", "1e300"}, 38, 62},
		{"start + most frames", []string{"--start", "90f", "--duration", "9223372036854775807f"}, 90, 10}, // overflowed: "empty range"
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".mp4")
			// Temporal off: this checks which frames come out, not how the
			// temporal stage merges them.
			mustRun(t, append([]string{in, out, "--style", id, "--preset", "ultrafast", "--crf", "0", "--progress", "none", "--temporal", "off"}, tc.args...)...)
			got := decodeFrames(t, out, 96, 64, 0)
			if len(got) != tc.n {
				t.Fatalf("%d frames, want %d", len(got), tc.n)
			}
			for i, f := range got {
				want := psnr(f.In, all[tc.first+i].In)
				// 4:2:0 chroma costs a few dB on testsrc2's sharp colour edges.
				if want < 28 {
					t.Fatalf("output frame %d is not input frame %d (PSNR %.1f)", i, tc.first+i, want)
				}
				if tc.first+i > 0 && psnr(f.In, all[tc.first+i-1].In) >= want {
					t.Fatalf("output frame %d looks more like input frame %d", i, tc.first+i-1)
				}
			}
			if ts := sortedTimes(t, out, "v:0"); math.Abs(ts[0]) > 1e-3 {
				t.Fatalf("range output starts at %.3fs, want 0", ts[0])
			}
		})
	}
}

func TestRangeAudioInSync(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := gopClip(t, dir, true)
	out := filepath.Join(dir, "cut.mp4")
	mustRun(t, in, out, "--style", id, "--start", "1.2", "--duration", "1.6", "--preset", "ultrafast", "--progress", "none")
	v, a := sortedTimes(t, out, "v:0"), sortedTimes(t, out, "a:0")
	if len(v) != 40 {
		t.Fatalf("%d video frames, want 40", len(v))
	}
	if math.Abs(a[0]-v[0]) > 0.05 {
		t.Fatalf("audio starts at %.3f, video at %.3f", a[0], v[0])
	}
	vEnd, aEnd := v[len(v)-1]+0.04, a[len(a)-1]+1024.0/44100
	if math.Abs(aEnd-vEnd) > 0.06 {
		t.Fatalf("audio ends at %.3f, video at %.3f", aEnd, vEnd)
	}
}

func TestStrengthAndPreserveColor(t *testing.T) {
	dir := t.TempDir()
	_, sp := tinyModels(t, dir)
	// A "style" that darkens and casts the colours.
	inv := filepath.Join(dir, "cast.onnx")
	if err := onnxgen.PerChannel(inv, [3]float32{0.6, 0.6, 0.6}, [3]float32{70, -10, 20}); err != nil {
		t.Fatal(err)
	}
	in := testmedia.Clip(t, dir, "in.mp4", 96, 64, 25, 5, false)
	src := decodeFrames(t, in, 96, 64, 1)[0]
	out := filepath.Join(dir, "s0.mp4")
	mustRun(t, in, out, "--style", sp, "--strength", "0", "--crf", "0", "--preset", "ultrafast", "--progress", "none")
	if q := psnr(decodeFrames(t, out, 96, 64, 1)[0].In, src.In); q < 28 {
		t.Fatalf("strength 0: PSNR %.1f against the input", q)
	}
	out = filepath.Join(dir, "s1.mp4")
	mustRun(t, in, out, "--style", sp, "--crf", "0", "--preset", "ultrafast", "--progress", "none")
	if q := psnr(decodeFrames(t, out, 96, 64, 1)[0].In, src.In); q > 22 {
		t.Fatalf("strength 1 looks like the input: PSNR %.1f", q)
	}
	out = filepath.Join(dir, "pc.png")
	mustRun(t, in, out, "--style", inv, "--preserve-color")
	img := readPNG(t, out)
	n := 96 * 64
	var dC, dY, dCast float64
	m := 0
	for p := 0; p < n; p++ {
		r, g, b, _ := img.At(p%96, p/96).RGBA()
		ro, gO, bo := uint8(r>>8), uint8(g>>8), uint8(b>>8)
		if ro == 0 || ro == 255 || gO == 0 || gO == 255 || bo == 0 || bo == 255 {
			continue // clipped: chroma cannot be kept exactly
		}
		m++
		ri, gi, bi := src.In[p], src.In[n+p], src.In[2*n+p]
		yo, cbo, cro := color.RGBToYCbCr(ro, gO, bo)
		yi, cbi, cri := color.RGBToYCbCr(uint8(ri), uint8(gi), uint8(bi))
		_, cbs, crs := color.RGBToYCbCr(uint8(min(255, 0.6*ri+70)), uint8(max(0, 0.6*gi-10)), uint8(0.6*bi+20))
		dC += math.Abs(float64(cbo)-float64(cbi)) + math.Abs(float64(cro)-float64(cri))
		dCast += math.Abs(float64(cbs)-float64(cbi)) + math.Abs(float64(crs)-float64(cri))
		ys := 0.299*(0.6*float64(ri)+70) + 0.587*(0.6*float64(gi)-10) + 0.114*(0.6*float64(bi)+20)
		dY += math.Abs(float64(yo) - ys)
		_ = yi
	}
	if m < n/3 {
		t.Fatalf("only %d of %d pixels unclipped", m, n)
	}
	// Chroma is the input's (not the cast's), luminance the style's.
	if dC/float64(2*m) > 3 || dCast/float64(2*m) < 8 || dY/float64(m) > 3 {
		t.Fatalf("preserve-color: chroma off by %.1f (the cast alone: %.1f), luminance off by %.1f", dC/float64(2*m), dCast/float64(2*m), dY/float64(m))
	}
}

func TestStills(t *testing.T) {
	dir := t.TempDir()
	id, sp := tinyModels(t, dir)
	in := filepath.Join(dir, "photo.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=120x80", "-frames:v", "1", in)
	for _, ext := range []string{"png", "jpg"} {
		out := filepath.Join(dir, "out."+ext)
		mustRun(t, in, out, "--style", id)
		f, _ := os.Open(out)
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != 120 || img.Bounds().Dy() != 80 {
			t.Fatalf("%s: %v %v", ext, err, img.Bounds())
		}
	}
	src := readPNG(t, in)
	got := readPNG(t, filepath.Join(dir, "out.png"))
	var d float64
	for y := 0; y < 80; y++ {
		for x := 0; x < 120; x++ {
			a, _, _, _ := src.At(x, y).RGBA()
			b, _, _, _ := got.At(x, y).RGBA()
			d += math.Abs(float64(a>>8) - float64(b>>8))
		}
	}
	if d/(120*80) > 2 {
		t.Fatalf("identity still differs from its input by %.2f", d/(120*80))
	}
	mustRun(t, in, filepath.Join(dir, "sp.png"), "--style", sp, "--max-side", "60")
	if b := readPNG(t, filepath.Join(dir, "sp.png")).Bounds(); b.Dx() != 120 {
		t.Fatalf("still not upscaled to the input size: %v", b)
	}
}

func TestImagesFolder(t *testing.T) {
	dir := t.TempDir()
	id, sp := tinyModels(t, dir)
	imgs := filepath.Join(dir, "imgs")
	os.Mkdir(imgs, 0o755)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", filepath.Join(imgs, "a.png"))
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=80x60", "-frames:v", "1", filepath.Join(imgs, "b.jpg"))
	os.WriteFile(filepath.Join(imgs, "broken.png"), []byte("\x89PNG not really"), 0o644)
	outDir := filepath.Join(dir, "out")
	code, stdout, stderr := vidnst(t, "images", imgs, "--style", id, "--style", sp, "-o", outDir, "--progress", "none")
	if code != 0 || !strings.Contains(stderr, "broken.png") || !strings.Contains(stdout, "4 images written") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if got := listDir(t, outDir); strings.Join(got, " ") != "a-identity.png a-spatial.png b-identity.png b-spatial.png" {
		t.Fatalf("outputs %v", got)
	}
	code, stdout, _ = vidnst(t, "images", imgs, "--style", id, "--style", sp, "-o", outDir, "--progress", "none")
	if code != 0 || !strings.Contains(stdout, "0 images written, 4 already done") {
		t.Fatalf("rerun: exit %d %s", code, stdout)
	}
}

func TestPreviewSheet(t *testing.T) {
	dir := t.TempDir()
	id, sp := tinyModels(t, dir)
	in := gopClip(t, dir, false)
	out := filepath.Join(dir, "sheet.png")
	mustRun(t, "preview", in, "--style", id, "--style", sp, "--at", "0.4", "--at", "50f", "-o", out, "--max-side", "48")
	img := readPNG(t, out)
	// 3 columns (original + 2 styles) of 48x32 tiles, 2 rows, 8 px gaps,
	// 31 px captions (two lines: the tiles are too narrow for one).
	if b := img.Bounds(); b.Dx() != 3*48+4*8 || b.Dy() != 2*(32+31)+3*8 {
		t.Fatalf("sheet %v", b)
	}
	// Tile (1, 0) is the original frame 50; tile (1, 1) the identity style of it.
	ref := decodeFrames(t, in, 48, 32, 0)[50]
	for _, col := range []int{0, 1} {
		x0, y0 := 8+col*(48+8), 8+1*(32+31+8)
		var d float64
		for y := 0; y < 32; y++ {
			for x := 0; x < 48; x++ {
				r, _, _, _ := img.At(x0+x, y0+y).RGBA()
				d += math.Abs(float64(r>>8) - float64(ref.In[y*48+x]))
			}
		}
		if d/(48*32) > 2 {
			t.Fatalf("tile (1,%d) differs from frame 50 by %.2f", col, d/(48*32))
		}
	}
	// The same frame asked twice gives one row; a time within the last
	// frame's display (3.99 s of a 4 s clip) gives that frame.
	mustRun(t, "preview", in, "--style", id, "--at", "50f", "--at", "2", "--at", "3.99", "-o", filepath.Join(dir, "s2.png"), "--max-side", "48")
	if b := readPNG(t, filepath.Join(dir, "s2.png")).Bounds(); b.Dy() != 2*(32+31)+3*8 {
		t.Fatalf("sheet of --at 50f, 2, 3.99: %v, want 2 rows", b)
	}
	clip := filepath.Join(dir, "sbs.mp4")
	mustRun(t, "preview", in, "--style", sp, "--start", "1", "--duration", "0.4", "-o", clip, "--side-by-side", "--preset", "ultrafast", "--progress", "none")
	v := testmedia.FFprobe(t, clip, true).Stream("video")
	if v.Width != 192 || v.Height != 64 || v.NbReadFrames != "10" {
		t.Fatalf("side by side: %dx%d %s frames", v.Width, v.Height, v.NbReadFrames)
	}
}

var _ = png.Decode

// No subcommand writes over one of its inputs, or over an existing file
// without -y; outputs get the umask's mode like any new file; an images
// folder cannot be its own output and clashing names are reported.
func TestOutputsNeverClobber(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	a := filepath.Join(dir, "a.png")
	b := filepath.Join(dir, "b.png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", a)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-vf", "hflip", "-frames:v", "1", b)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 10, false)
	keep := filepath.Join(dir, "keep.png")
	os.WriteFile(keep, []byte("keep me"), 0o644)
	plan := filepath.Join(dir, "plan.json")
	mustRun(t, "plan", in, "--style", id, "--chunks", "2", "-o", plan)
	sum := func(p string) string { b, _ := os.ReadFile(p); return fmt.Sprintf("%x", md5.Sum(b)) }
	before := map[string]string{}
	for _, p := range []string{a, b, in, keep, plan} {
		before[p] = sum(p)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"flow", a, b, "-o", a, "-y"}, "is the input"},
		{[]string{"flow", a, b, "-o", keep}, "exists (use -y"},
		{[]string{"plan", in, "--style", id, "--chunks", "2", "-o", in, "-y"}, "is the input"},
		{[]string{"plan", in, "--style", id, "--chunks", "2", "-o", plan}, "exists (use -y"},
		{[]string{"merge", plan, in, "-y"}, "is the input"},
		{[]string{"merge", plan, plan, "-y"}, "is the input"},
		{[]string{"preview", a, "--style", id, "-o", a, "-y"}, "is the input"},
		{[]string{"preview", a, "--style", id, "-o", keep}, "exists (use -y"},
		{[]string{"images", dir, "--style", id, "-o", dir}, "is the input folder"},
		{[]string{a, keep, "--style", id}, "exists (use -y"},
	} {
		code, _, stderr := vidnst(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want an error with %q", tc.args[:2], code, stderr, tc.want)
		}
	}
	for p, s := range before {
		if sum(p) != s {
			t.Errorf("%s was changed", p)
		}
	}
	// New still outputs get 0666 less the umask, as video outputs do.
	for _, tc := range []struct {
		out  string
		args []string
	}{
		{"f.png", []string{"flow", a, b, "-o"}},
		{"s.png", []string{a, "--style", id, "-o"}},
		{"sheet.png", []string{"preview", a, "--style", id, "-o"}},
	} {
		p := filepath.Join(dir, tc.out)
		args := append(tc.args, p)
		if args[0] == a { // the root command takes OUTPUT as an argument
			args = []string{a, p, "--style", id}
		}
		mustRun(t, args...)
		if st, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", tc.out, st.Mode().Perm())
		}
	}
	// images: a.png and a.jpg would write the same names; the same style
	// twice is done once.
	imgs, outDir := filepath.Join(dir, "imgs"), filepath.Join(dir, "out")
	os.Mkdir(imgs, 0o755)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", filepath.Join(imgs, "a.png"))
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", filepath.Join(imgs, "a.jpg"))
	code, stdout, stderr := vidnst(t, "images", imgs, "--style", id, "--style", id, "-o", outDir, "--progress", "none")
	if code != 0 || !strings.Contains(stderr, "a.png: "+filepath.Join(imgs, "a.jpg")+" writes the same output names") || !strings.Contains(stdout, "1 image written, 0 already done, 1 input skipped") {
		t.Fatalf("clash: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := listDir(t, outDir); strings.Join(got, " ") != "a-identity.png" {
		t.Fatalf("outputs %v", got)
	}
}

// Stills keep the input's size, in images as in a render (the network runs
// at multiples of 4), unless --output-size processing; a still from a
// video is the frame at --start.
func TestStillsSizeAndStart(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	imgs := filepath.Join(dir, "imgs")
	os.Mkdir(imgs, 0o755)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x200", "-vf", "scale=161:97", "-frames:v", "1", filepath.Join(imgs, "odd.png"))
	for _, tc := range []struct {
		size string
		w, h int
	}{{"input", 161, 97}, {"processing", 160, 96}} {
		out := filepath.Join(dir, tc.size)
		mustRun(t, "images", imgs, "--style", id, "-o", out, "--output-size", tc.size, "--progress", "none")
		if b := readPNG(t, filepath.Join(out, "odd-identity.png")).Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("images --output-size %s: %v, want %dx%d", tc.size, b, tc.w, tc.h)
		}
	}
	in := gopClip(t, dir, false)
	all := decodeFrames(t, in, 96, 64, 0)
	out := filepath.Join(dir, "f50.png")
	mustRun(t, in, out, "--style", id, "--start", "2")
	img := readPNG(t, out)
	var d float64
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			d += math.Abs(float64(r>>8) - float64(all[50].In[y*96+x]))
		}
	}
	if d/(96*64) > 2 {
		t.Fatalf("the still at --start 2 differs from frame 50 by %.2f", d/(96*64))
	}
}

// A still output and the contact sheet refuse the flags they have no use
// for (exit 2, nothing written), and a still takes one frame of a range.
func TestStillFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 12, false)
	still := filepath.Join(dir, "s.png")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{in, still, "--hwaccel", "cuda"}, "--hwaccel does not apply"},
		{[]string{in, still, "--codec", "h264_nvenc"}, "--codec does not apply"},
		{[]string{in, still, "--temporal", "off"}, "--temporal does not apply"},
		{[]string{in, still, "--batch", "4"}, "--batch does not apply"},
		{[]string{in, still, "--duration", "1"}, "--duration does not apply"},
		{[]string{in, still, "--frames", "3-10"}, "--frames 3-10 is 8 frames and a still output takes one: give --frames 3-3"},
		{[]string{"preview", in, "--at", "1", "-o", still, "--hwaccel", "cuda"}, "--hwaccel does not apply: the contact sheet"},
		{[]string{"preview", in, "--at", "1", "-o", still, "--start", "2"}, "--start does not apply"},
		{[]string{"preview", in, "--at", "1", "-o", filepath.Join(dir, "c.mp4"), "--side-by-side"}, "--at is for the contact sheet"},
		{[]string{"preview", in, "--start", "1", "-o", filepath.Join(dir, "c.mp4")}, `the sheet is written as .png or .jpg, not ".mp4" (add --side-by-side for a clip)`},
	} {
		code, _, stderr := vidnst(t, append(tc.args, "--style", id)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if got := listDir(t, dir); strings.Join(got, " ") != "identity.onnx in.mp4 spatial.onnx" {
		t.Errorf("files after refusals: %v", got)
	}
	mustRun(t, in, still, "--style", id, "--frames", "3-3")
	mustRun(t, "preview", in, "--style", id, "--at", "3f", "-o", filepath.Join(dir, "sheet.png"), "--max-side", "32", "--fp16", "--device", "cpu", "--strength", "0.5")
}

// An image too small for the network is skipped with a note; the others
// are written.
func TestImagesTooSmallSkipped(t *testing.T) {
	dir := t.TempDir()
	reflect := filepath.Join(dir, "reflect.onnx")
	if err := onnxgen.Reflect(reflect, 4); err != nil {
		t.Fatal(err)
	}
	imgs, outDir := filepath.Join(dir, "imgs"), filepath.Join(dir, "out")
	os.Mkdir(imgs, 0o755)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=8x4", "-frames:v", "1", filepath.Join(imgs, "a.png"))
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", filepath.Join(imgs, "c.png"))
	code, stdout, stderr := vidnst(t, "images", imgs, "--style", reflect, "-o", outDir, "--progress", "none")
	if code != 0 || !strings.Contains(stderr, "skipping "+filepath.Join(imgs, "a.png")+": 8x4 is too small for reflect") || !strings.Contains(stdout, "1 image written, 0 already done, 1 input skipped") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if got := listDir(t, outDir); strings.Join(got, " ") != "c-reflect.png" {
		t.Fatalf("outputs %v", got)
	}
	// An output name longer than the file system allows skips that image
	// (it stopped the run there); none written at all is a failure.
	long := filepath.Join(imgs, strings.Repeat("b", 248)+".png")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", long)
	code, stdout, stderr = vidnst(t, "images", imgs, "--style", reflect, "-o", outDir, "--progress", "none")
	if code != 0 || !strings.Contains(stderr, "skipping "+long+": its output name "+strings.Repeat("b", 248)+"-reflect.png is too long (260 bytes") || !strings.Contains(stdout, "0 images written, 1 already done, 2 inputs skipped") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	os.Remove(filepath.Join(imgs, "c.png"))
	os.Remove(long)
	code, stdout, stderr = vidnst(t, "images", imgs, "--style", reflect, "-o", outDir, "--progress", "none")
	if code != 1 || !strings.HasSuffix(stderr, "vidnst: no image written: every input was skipped\n") {
		t.Fatalf("every image skipped: exit %d\n%s%s", code, stdout, stderr)
	}
}

// images interrupted keeps what it finished, whole, and says how many.
func TestImagesInterruptedKeeps(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	imgs, outDir := filepath.Join(dir, "imgs"), filepath.Join(dir, "out")
	os.Mkdir(imgs, 0o755)
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "80", filepath.Join(imgs, "i%03d.png"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // interrupt once the first output is in place (not its temporary file)
		for ctx.Err() == nil {
			es, _ := os.ReadDir(outDir)
			for _, e := range es {
				if !strings.HasPrefix(e.Name(), ".") {
					cancel()
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var e bytes.Buffer
	code := run(ctx, []string{"images", imgs, "--style", id, "-o", outDir, "--progress", "none"}, io.Discard, &e)
	if code != 130 {
		t.Fatalf("exit %d (%q): the run ended before the interrupt", code, e.String())
	}
	outs := listDir(t, outDir)
	for _, n := range outs {
		readPNG(t, filepath.Join(outDir, n))
	}
	if want := fmt.Sprintf("vidnst: interrupted; the %s written before it", count(len(outs), "image")); !strings.HasPrefix(e.String(), want) || len(outs) == 0 || len(outs) == 80 {
		t.Fatalf("%d outputs, stderr %q", len(outs), e.String())
	}
}
