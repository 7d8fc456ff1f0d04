package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/internal/farm"
	"github.com/vidnst/vidnst/internal/onnxgen"
	"github.com/vidnst/vidnst/internal/testmedia"
)

func needSlurm(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("SKIP: sbatch not found: start a cluster with ../shared/slurm/start-local-slurm.sh (.ci/run does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%T").Output(); err != nil || !strings.Contains(string(out), "idle") && !strings.Contains(string(out), "mix") && !strings.Contains(string(out), "alloc") {
		t.Skipf("SKIP: no Slurm node answers (sinfo: %q, %v)", out, err)
	}
}

// buildVidnst builds this command into dir (the farm runs it by path).
func buildVidnst(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "vidnst")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestFarmSlurmSeamless plans a shared clip in 4 chunks, renders them as a
// real Slurm job array with a dependent merge job, and compares the merged
// file with a single render of the same settings.
func TestFarmSlurmSeamless(t *testing.T) {
	needSlurm(t)
	candy := testmedia.Model(t, "candy")
	in := filepath.Join(testmedia.Shared(t, "videos"), "asl-book.mkv")
	dir := t.TempDir()
	bin := buildVidnst(t, dir)
	plan := filepath.Join(dir, "plan.json")
	flags := []string{"--style", candy, "--max-side", "96", "--preset", "ultrafast", "--threads", "1"}
	mustRun(t, append([]string{"plan", in, "--chunks", "4", "-o", plan}, flags...)...)
	p, err := farm.Load(plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Chunks) != 4 || p.WarmUp != warmUpFor(farmTemporalMode, farmTemporalWeight) || p.WarmUp != 18 {
		t.Fatalf("plan: %d chunks, warm-up %d", len(p.Chunks), p.WarmUp)
	}
	merged := filepath.Join(dir, "merged.mp4")
	t0 := time.Now()
	out := mustRun(t, "farm", "slurm", "--plan", plan, "--output", merged, "--bin", bin, "--submit", "--wait")
	t.Logf("slurm render + merge: %v\n%s", time.Since(t0), out)
	single := filepath.Join(dir, "single.mp4")
	mustRun(t, append([]string{in, single, "--temporal", farmTemporalMode, "--temporal-weight", fmt.Sprint(farmTemporalWeight), "--progress", "none"}, flags...)...)

	sameTimes(t, "merged vs single", sortedTimes(t, merged, "v:0"), sortedTimes(t, single, "v:0"), 1e-4)
	a, b := decodeFrames(t, merged, 160, 120, 0), decodeFrames(t, single, 160, 120, 0)
	if len(a) != len(b) || len(a) != p.Input.FrameCount {
		t.Fatalf("merged %d frames, single %d, input %d", len(a), len(b), p.Input.FrameCount)
	}
	minQ := math.Inf(1)
	for _, c := range p.Chunks[1:] {
		for k := c.Start - 2; k <= c.Start+2; k++ {
			q := psnr(a[k].In, b[k].In)
			minQ = math.Min(minQ, q)
			if q < 40 {
				t.Errorf("frame %d (chunk boundary %d): %.1f dB against the single render", k, c.Start, q)
			}
		}
	}
	t.Logf("minimum PSNR within 2 frames of a boundary: %.1f dB", minQ)
	// Re-running the array is safe: every chunk is skipped as done.
	out = mustRun(t, "render", "--plan", plan, "--chunk", "2")
	if !strings.Contains(out, "already done") {
		t.Fatalf("re-run of a done chunk: %q", out)
	}
}

func TestPlanRenderMergeErrors(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 60, true)
	plan := filepath.Join(dir, "plan.json")
	mustRun(t, "plan", in, "--style", id, "--chunks", "3", "-o", plan, "--preset", "ultrafast")
	// Merge before rendering: lists the missing chunks.
	code, _, stderr := vidnst(t, "merge", plan, filepath.Join(dir, "out.mp4"))
	if code == 0 || !strings.Contains(stderr, "3 of 3 chunks missing") || !strings.Contains(stderr, "0,1,2") {
		t.Fatalf("merge without chunks: %d %q", code, stderr)
	}
	for i := 0; i < 3; i++ {
		mustRun(t, "render", "--plan", plan, "--chunk", fmt.Sprint(i), "--progress", "none")
	}
	out := filepath.Join(dir, "out.mp4")
	mustRun(t, "merge", plan, out)
	p := testmedia.FFprobe(t, out, true)
	if v := p.Stream("video"); v == nil || v.NbReadFrames != "60" || p.Stream("audio") == nil {
		t.Fatalf("merged: %+v", p.Streams)
	}
	if audioMD5(t, out) != audioMD5(t, in) {
		t.Fatal("merged audio is not the input's")
	}
	// The model file changes (another version of the style on a node):
	// chunks refuse to render, naming the planner's file.
	os.Remove(filepath.Join(dir, "plan.chunk-0000.mp4.done"))
	orig, _ := os.ReadFile(id)
	if err := onnxgen.Affine(id, 1, 0.5); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = vidnst(t, "render", "--plan", plan, "--chunk", "0")
	if code != 1 || !strings.Contains(stderr, "not the planned model") || !strings.Contains(stderr, id) {
		t.Fatalf("changed model: %d %q", code, stderr)
	}
	os.WriteFile(id, orig, 0o644)
	mustRun(t, "render", "--plan", plan, "--chunk", "0", "--progress", "none")
	// The input changes: chunks refuse to render.
	os.Remove(filepath.Join(dir, "plan.chunk-0001.mp4.done"))
	b, _ := os.ReadFile(in)
	b[len(b)/3] ^= 0xff
	os.WriteFile(in, b, 0o644)
	code, _, stderr = vidnst(t, "render", "--plan", plan, "--chunk", "1")
	if code == 0 || !strings.Contains(stderr, "input changed") {
		t.Fatalf("changed input: %d %q", code, stderr)
	}
}

// An MPEG-TS input starts at 1.4 s or later: a render, a range from frame
// 0 and a farm merge all start at 0 as FFmpeg's output does, with the
// audio's lead over the video kept.
func TestTSInputStartsAtZero(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Remux(t, testmedia.Clip(t, dir, "src.mp4", 64, 48, 25, 50, true), dir, "in.ts")
	ip := testmedia.FFprobe(t, in, false)
	vs, _ := strconv.ParseFloat(ip.Stream("video").StartTime, 64)
	fs, _ := strconv.ParseFloat(ip.Format.StartTime, 64)
	if fs < 1 {
		t.Fatalf("the .ts starts at %g: not the case under test", fs)
	}
	plan := filepath.Join(dir, "plan.json")
	mustRun(t, "plan", in, "--style", id, "--chunks", "2", "-o", plan, "--preset", "ultrafast")
	for i := range 2 {
		mustRun(t, "render", "--plan", plan, "--chunk", fmt.Sprint(i), "--progress", "none")
	}
	merged := filepath.Join(dir, "merged.mp4")
	mustRun(t, "merge", plan, merged)
	for _, tc := range []struct {
		out    string
		args   []string
		vstart float64 // where the video starts
	}{
		{"whole.mp4", nil, vs - fs}, // the audio's lead kept
		{"merged.mp4", nil, vs - fs},
		{"range.mp4", []string{"--frames", "0-9"}, 0}, // a range: audio cut to it
	} {
		out := filepath.Join(dir, tc.out)
		if tc.out != "merged.mp4" {
			mustRun(t, append([]string{in, out, "--style", id, "--progress", "none", "--preset", "ultrafast"}, tc.args...)...)
		}
		p := testmedia.FFprobe(t, out, false)
		f, _ := strconv.ParseFloat(p.Format.StartTime, 64)
		v, _ := strconv.ParseFloat(p.Stream("video").StartTime, 64)
		if math.Abs(f) > 0.002 || math.Abs(v-tc.vstart) > 0.002 {
			t.Errorf("%s: starts at %g, video at %g; want 0 and %g", tc.out, f, v, tc.vstart)
		}
	}
}

// An MP4 cut with an edit list (ffmpeg -ss ... -c copy) indexes frames
// before its start: a range from its first frame keeps video and audio
// together at 0.
func TestRangeOfEditListCut(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	src := filepath.Join(dir, "src.mp4")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-f", "lavfi", "-i", "sine=duration=3",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", src)
	cut := filepath.Join(dir, "cut.mp4")
	testmedia.FFmpeg(t, "-ss", "1.3", "-i", src, "-c", "copy", cut) // -ss before -i: not a Remux
	// The preroll packets (before the cut, marked to discard) are no frames.
	x, err := decode.ReadIndex(cut)
	if n := testmedia.FFprobe(t, cut, true).Stream("video").NbReadFrames; err != nil || fmt.Sprint(len(x.PTS)) != n || x.PTS[0] != 0 {
		t.Fatalf("index of %d frames from %d, first at %d (%v); ffprobe reads %s frames", len(x.PTS), x.PTS[0], x.PTS[0], err, n)
	}
	out := filepath.Join(dir, "out.mp4")
	_, _, stderr := vidnst(t, cut, out, "--style", id, "--end", "1", "--progress", "none", "--preset", "ultrafast")
	p := testmedia.FFprobe(t, out, true)
	v, _ := strconv.ParseFloat(p.Stream("video").StartTime, 64)
	a, _ := strconv.ParseFloat(p.Stream("audio").StartTime, 64)
	if math.Abs(v) > 0.05 || math.Abs(a) > 0.05 || p.Stream("video").NbReadFrames != "25" || strings.Contains(stderr, "warning") {
		t.Fatalf("video starts at %g, audio at %g, %s frames; %q", v, a, p.Stream("video").NbReadFrames, stderr)
	}
	// And it farms: the plan's frame counts are the frames the chunks render.
	plan := filepath.Join(dir, "plan.json")
	mustRun(t, "plan", cut, "--style", id, "--chunks", "2", "-o", plan, "--preset", "ultrafast")
	for i := range 2 {
		mustRun(t, "render", "--plan", plan, "--chunk", fmt.Sprint(i), "--progress", "none")
	}
	mustRun(t, "merge", plan, filepath.Join(dir, "merged.mp4"))
}

// Joined .ts recordings: vidnst refuses the raw join in one line, naming
// the remux it suggests; the remuxed file (whose audio overlaps where the
// two met) renders into an MP4, which takes no repeated audio timestamps.
func TestJoinedTSRecordings(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	ts := filepath.Join(dir, "a.ts")
	// 3 s of both: FFmpeg's remux of the join below then has two audio
	// packets with one timestamp where the recordings meet.
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-f", "lavfi", "-i", "sine=duration=3",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", ts)
	joined := testmedia.Joined(t, dir, "joined.ts", ts, ts)
	code, _, stderr := vidnst(t, joined, filepath.Join(dir, "o.mp4"), "--style", id, "--progress", "none")
	if code != 1 || !strings.Contains(stderr, "timestamps jump backwards") || !strings.Contains(stderr, "ffmpeg -i IN -c copy OUT.mkv") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("joined .ts: exit %d, %q", code, stderr)
	}
	fixed := testmedia.Remux(t, joined, dir, "fixed.mkv")
	// Copied into MP4, and transcoded (--audio aac): the overlap is left
	// out, and said.
	for _, tc := range [][]string{{"fixed.mp4"}, {"fixed-aac.mp4", "--audio", "aac"}} {
		out := filepath.Join(dir, tc[0])
		code, _, stderr := vidnst(t, append([]string{fixed, out, "--style", id, "--progress", "none", "--preset", "ultrafast"}, tc[1:]...)...)
		p := testmedia.FFprobe(t, out, true)
		if v, a := p.Stream("video"), p.Stream("audio"); code != 0 || v == nil || v.NbReadFrames != "150" || a == nil || !strings.Contains(stderr, "audio packets") {
			t.Fatalf("%v: exit %d, %q, streams %+v", tc, code, stderr, p.Streams)
		}
	}
}

// Two recordings joined where the second starts 0.36 s before the first
// ends (a jump back too small to call a reset): the overlap is left out of
// both video and audio, which end together (moving every later frame
// instead put the video 0.36 s behind its sound).
func TestOverlappingJoin(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	rec := func(name string, off string) string {
		p := filepath.Join(dir, name)
		testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-f", "lavfi", "-i", "sine=duration=3",
			"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-output_ts_offset", off, p)
		return p
	}
	joined := testmedia.Joined(t, dir, "ab.ts", rec("a.ts", "0"), rec("b.ts", "2.64"))
	out := filepath.Join(dir, "ab.mp4")
	_, _, stderr := vidnst(t, joined, out, "--style", id, "--progress", "none", "--preset", "ultrafast")
	p := testmedia.FFprobe(t, out, false)
	end := func(s *testmedia.Stream) float64 {
		st, _ := strconv.ParseFloat(s.StartTime, 64)
		d, _ := strconv.ParseFloat(s.Duration, 64)
		return st + d
	}
	if v, au := p.Stream("video"), p.Stream("audio"); v == nil || au == nil || math.Abs(end(v)-end(au)) > 0.1 || !strings.Contains(stderr, "9 frames whose timestamp") {
		t.Fatalf("video ends at %g, audio at %g; %q", end(p.Stream("video")), end(p.Stream("audio")), stderr)
	}
}

func TestFarmK8sManifests(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 20, false)
	plan := filepath.Join(dir, "plan.json")
	mustRun(t, "plan", in, "--style", id, "--chunks", "2", "-o", plan)
	y := filepath.Join(dir, "jobs.yaml")
	mustRun(t, "farm", "k8s", "--plan", plan, "--image", "registry.example/vidnst:1", "--pvc", "renders", "--gpus", "1", "-m", y)
	data, _ := os.ReadFile(y)
	jobs, err := farm.Decode(data)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("decode: %v (%d jobs)", err, len(jobs))
	}
	r := jobs[0]
	if r.Spec.CompletionMode == nil || string(*r.Spec.CompletionMode) != "Indexed" || *r.Spec.Completions != 2 {
		t.Fatalf("render job spec %+v", r.Spec)
	}
	c := r.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example/vidnst:1" || !strings.Contains(strings.Join(append(c.Command, c.Args...), " "), "--chunk") {
		t.Fatalf("render container %+v", c)
	}
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Value() != 1 {
		t.Fatalf("gpu limit %v", c.Resources.Limits)
	}
	if a := strings.Join(c.Args, " "); !strings.HasSuffix(a, "--progress lines --device cuda") {
		t.Fatalf("a GPU pod's render does not ask for the GPU: %s", a)
	}
	again := []string{"farm", "k8s", "--plan", plan, "--image", "i", "--pvc", "p", "--gpus", "1", "--render-arg=--device", "--render-arg=auto", "-m", y}
	if code, _, stderr := vidnst(t, again...); code != 2 || !strings.Contains(stderr, "exists (use -y") {
		t.Fatalf("manifest over an existing file without -y: exit %d, %q", code, stderr)
	}
	if code, _, stderr := vidnst(t, "farm", "k8s", "--plan", plan, "--image", "i", "--pvc", "p", "-m", plan, "-y"); code != 2 || !strings.Contains(stderr, "is the input") {
		t.Fatalf("manifest over the plan: exit %d, %q", code, stderr)
	}
	mustRun(t, append(again, "-y")...)
	data, _ = os.ReadFile(y)
	if jobs, err = farm.Decode(data); err != nil {
		t.Fatal(err)
	}
	if a := strings.Join(jobs[0].Spec.Template.Spec.Containers[0].Args, " "); !strings.HasSuffix(a, "--progress lines --device auto") {
		t.Fatalf("render args: %s", a)
	}
}

// A plan keeps what shapes the pixels (fp16 among them) for every chunk,
// and where the network runs as a default a chunk's own flags override;
// range flags, which a plan cannot honour, are refused.
func TestPlanSettings(t *testing.T) {
	o := defaultRenderOpts()
	o.style, o.fp16, o.device, o.batch, o.hwaccel, o.strength, o.deinterlace = "candy", true, "cuda:1", 8, "cuda", 0.5, "off"
	all := func(string) bool { return true }
	s := settingsOf(o, all)
	for k, v := range map[string]string{"fp16": "true", "device": "cuda:1", "batch": "8", "hwaccel": "cuda", "strength": "0.5", "deinterlace": "off"} {
		if s.Extra[k] != v {
			t.Errorf("plan setting %s = %q, want %q", k, s.Extra[k], v)
		}
	}
	none := func(string) bool { return false }
	if d := settingsOf(defaultRenderOpts(), none).Extra; len(d) != 0 {
		t.Errorf("defaults recorded: %v", d)
	}
	// An explicit --device cpu is recorded: GPU jobs then stay on the CPU.
	if d := settingsOf(defaultRenderOpts(), func(f string) bool { return f == "device" }).Extra; d["device"] != "cpu" {
		t.Errorf("explicit --device cpu: %v", d)
	}
	r := defaultRenderOpts()
	if err := applySettings(r, s, none); err != nil || !r.fp16 || r.device != "cuda:1" || r.batch != 8 || r.hwaccel != "cuda" || r.strength != 0.5 || r.deinterlace != "off" {
		t.Fatalf("applied: %+v, %v", r, err)
	}
	r = defaultRenderOpts()
	r.device, r.batch, r.fp16 = "cpu", 1, false // this node's flags
	own := func(f string) bool { return f == "device" || f == "batch" || f == "fp16" }
	if err := applySettings(r, s, own); err != nil || r.device != "cpu" || r.batch != 1 || !r.fp16 || r.hwaccel != "cuda" {
		t.Fatalf("node flags: device %q batch %d fp16 %v hwaccel %q, %v", r.device, r.batch, r.fp16, r.hwaccel, err)
	}
	// A plan from before --max-side and --width were refused together (the
	// width won) and --device gpu was dropped still renders as it did.
	old := settingsOf(defaultRenderOpts(), none)
	old.Style, old.MaxSide, old.Extra = "candy", 64, map[string]string{"width": "48", "device": "gpu"}
	r = defaultRenderOpts()
	if err := applySettings(r, old, none); err != nil || r.maxSide != 0 || r.width != 48 || r.device != "cuda" {
		t.Fatalf("old plan: max-side %d width %d device %q, %v", r.maxSide, r.width, r.device, err)
	}
	if err := r.check("x.mp4"); err != nil {
		t.Fatalf("old plan's settings refused: %v", err)
	}
	// An fp16 plan stays fp16 on a node without the fp16 variant: the
	// planner's file, or an error; never the node's fp32 model.
	planner, node := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	os.MkdirAll(filepath.Join(planner, "fp16"), 0o755)
	os.MkdirAll(node, 0o755)
	for _, p := range []string{filepath.Join(planner, "identity.onnx"), filepath.Join(planner, "fp16", "identity-fp16.onnx"), filepath.Join(node, "identity.onnx")} {
		if err := onnxgen.Identity(p); err != nil {
			t.Fatal(err)
		}
	}
	fp16 := settingsOf(defaultRenderOpts(), none)
	fp16.Style, fp16.Extra = "identity", map[string]string{"fp16": "true", "model": filepath.Join(planner, "fp16", "identity-fp16.onnx")}
	for _, tc := range []struct {
		dir, style string
		fp16       bool
	}{{planner, "identity", true}, {node, fp16.Extra["model"], false}} {
		r = defaultRenderOpts()
		r.modelsDir = tc.dir
		if err := applySettings(r, fp16, none); err != nil || r.style != tc.style || r.fp16 != tc.fp16 {
			t.Errorf("fp16 plan on a node with %s: style %q fp16 %v, %v; want %q %v", tc.dir, r.style, r.fp16, err, tc.style, tc.fp16)
		}
	}
	os.Remove(fp16.Extra["model"])
	r = defaultRenderOpts()
	r.modelsDir = node
	if err := applySettings(r, fp16, none); err == nil || !strings.Contains(err.Error(), "no fp16/identity-fp16.onnx beside") {
		t.Errorf("fp16 plan, no fp16 model anywhere: style %q fp16 %v, %v", r.style, r.fp16, err)
	}

	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 10, false)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--frames", "0-4"}, "plan covers the whole input"},
		{[]string{"--start", "1"}, "plan covers the whole input"},
		{[]string{"--end", "5f"}, "plan covers the whole input"},
		{[]string{"--duration", "1"}, "plan covers the whole input"},
		// Settings every chunk would fail on, refused before any runs.
		{[]string{"--chunk-ext", ".mkv"}, "chunks are .mp4 or .mov"},
		{[]string{"--pix-fmt", "foo"}, `unknown pixel format "foo"`},
		{[]string{"--audio", "foo"}, `--audio "foo"`},
		{[]string{"--warm-up", "-1"}, "--warm-up -1"},
		{[]string{"--crf", "99"}, "--crf 99"},
	} {
		code, _, stderr := vidnst(t, append([]string{"plan", in, "--style", id, "--chunks", "2", "-o", filepath.Join(dir, "p.json")}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("plan %v: exit %d, %q", tc.args, code, stderr)
		}
	}
	// Two plans in one folder (two styles of a film) keep their chunks apart.
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	mustRun(t, "plan", in, "--style", id, "--chunks", "2", "-o", a)
	mustRun(t, "plan", in, "--style", id, "--chunks", "2", "-o", b)
	pa, _ := farm.Load(a)
	pb, _ := farm.Load(b)
	if pa.ChunkPath(0) == pb.ChunkPath(0) || filepath.Base(pa.ChunkPath(0)) != "a.chunk-0000.mp4" {
		t.Errorf("chunk files %s and %s", pa.ChunkPath(0), pb.ChunkPath(0))
	}
	// farm slurm replaces the scripts it wrote, not a file of the user's.
	sl := []string{"farm", "slurm", "--plan", a, "--output", filepath.Join(dir, "film.mp4"), "--bin", "/usr/bin/true"}
	mustRun(t, sl...)
	mustRun(t, sl...) // again: its own scripts
	os.WriteFile(filepath.Join(dir, "vidnst-merge.sbatch"), []byte("#!/bin/sh\n# mine\n"), 0o644)
	if code, _, stderr := vidnst(t, sl...); code != 2 || !strings.Contains(stderr, "was not written by vidnst") {
		t.Errorf("farm slurm over a user's file: exit %d, %q", code, stderr)
	}
	mustRun(t, append(sl, "-y")...)
	if st, err := os.Stat(filepath.Join(dir, "vidnst-merge.sbatch")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("the replaced 0644 script: %v %v, want 0755", st.Mode(), err)
	}
	// A --render-arg every chunk would refuse is refused here, once.
	if code, _, stderr := vidnst(t, append(sl, "--render-arg=--strength", "--render-arg=0.5")...); code != 2 || !strings.Contains(stderr, "--render-arg --strength") {
		t.Errorf("farm slurm --render-arg=--strength: exit %d, %q", code, stderr)
	}
	mustRun(t, append(sl, "--render-arg=--threads=2", "--render-arg=-y", "--render-arg=--device", "--render-arg=cpu")...)
	if code, _, stderr := vidnst(t, append(sl, "--script-dir", filepath.Join(dir, "nope"))...); code != 2 || !strings.Contains(stderr, "script folder") || strings.Contains(stderr, ".tmp-") {
		t.Errorf("farm slurm into a missing folder: exit %d, %q", code, stderr)
	}
	// What would fail only after the whole render is refused before it:
	// an output that exists (unless -y, which the merge job then gets), a
	// container merge cannot write, a binary that is not there; and
	// --wait without --submit.
	film := filepath.Join(dir, "film.mp4")
	os.WriteFile(film, []byte("an earlier film"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{sl, "output " + film + " exists"},
		{[]string{"farm", "slurm", "--plan", a, "--output", filepath.Join(dir, "film.avi"), "--bin", "/usr/bin/true"}, "which .avi cannot store"},
		{[]string{"farm", "slurm", "--plan", a, "--output", filepath.Join(dir, "film.webm"), "--bin", "/usr/bin/true"}, `not ".webm"`},
		{[]string{"farm", "slurm", "--plan", a, "--output", filepath.Join(dir, "new.mp4"), "--bin", filepath.Join(dir, "nope", "vidnst"), "--submit"}, "is no executable file here"},
		{[]string{"farm", "slurm", "--plan", a, "--output", filepath.Join(dir, "new.mp4"), "--bin", "/usr/bin/true", "--wait"}, "--wait goes with --submit"},
		{[]string{"farm", "slurm", "--plan", a, "--output", filepath.Join(dir, "new.mp4"), "--bin", "/usr/bin/true", "--max-parallel", "-2"}, "--max-parallel -2: want 0 or more"},
		{[]string{"farm", "k8s", "--plan", a, "--image", "i", "--pvc", "p", "--output", "film.avi"}, "which .avi cannot store"},
		{[]string{"farm", "k8s", "--plan", a, "--image", "i", "--pvc", "p", "--namespace", "Bad_NS"}, `namespace "Bad_NS"`},
		{[]string{"farm", "k8s", "--plan", a, "--image", "i", "--pvc", "p", "--cpu", "lots"}, `quantity "lots"`},
		{[]string{"farm", "k8s", "--plan", a, "--image", "i", "--pvc", "p", "--backoff-limit-per-index", "-1"}, "--backoff-limit-per-index -1: want 0 or more"},
		{[]string{"merge", a, filepath.Join(dir, "m.webm")}, `not ".webm"`},
	} {
		if code, _, stderr := vidnst(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args[:2], code, stderr, tc.want)
		}
	}
	mustRun(t, append(sl, "-y")...)
	if b, _ := os.ReadFile(filepath.Join(dir, "vidnst-merge.sbatch")); !strings.Contains(string(b), `merge -y "$PLAN"`) {
		t.Errorf("farm slurm -y: the merge job does not replace the output:\n%s", b)
	}
	if b, _ := os.ReadFile(film); string(b) != "an earlier film" {
		t.Error("farm slurm touched the output")
	}
	os.Remove(film)
	// A chunk's render takes the pixels' settings from the plan only.
	code, _, stderr := vidnst(t, "render", "--plan", a, "--chunk", "0", "--strength", "0.5")
	if code != 2 || !strings.Contains(stderr, "--strength comes from the plan") {
		t.Errorf("render --plan --strength: exit %d, %q", code, stderr)
	}
}

func TestCheckRenderArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--threads", "2"}, true},
		{[]string{"--threads=2", "-y", "-qy"}, true},
		{[]string{"--device", "cuda:1", "--batch", "8"}, true},
		{[]string{"--ort-lib", "-odd-name.so"}, true}, // a value that looks like a flag
		// Values are checked as the chunk's render would (they were
		// written into the scripts and failed every task).
		{[]string{"--threads", "-1"}, false},
		{[]string{"--threads=5000"}, false},
		{[]string{"--batch", "65"}, false},
		{[]string{"--device", "bogus"}, false},
		{[]string{"--device=tensorrt"}, false},
		{[]string{"--hwaccel", "vaapi"}, false},
		{[]string{"--threads", "010"}, true}, // decimal, as the render reads it
		{[]string{"--strength", "0.5"}, false},
		{[]string{"--chunk=0"}, false}, // would win over the script's own
		{[]string{"--out-dir", "/x"}, false},
		{[]string{"-qs", "candy"}, false},
		{[]string{"--plan=b.json"}, false},
	} {
		if err := checkRenderArgs(tc.args); (err == nil) != tc.ok || err != nil && (strings.Count(err.Error(), "usage") != 1 || !strings.Contains(err.Error(), ": --render-arg ")) {
			t.Errorf("%q: %v", tc.args, err)
		}
	}
}

// Chunks that start between whole milliseconds (29.97 fps) merge with the
// input's timestamps exactly: MP4 stores a chunk's start delay in its
// movie timescale (1/1000 s), so merge places each chunk at the plan's
// start, not where the container says.
func TestMergeKeepsOffMillisecondTimes(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	for _, ext := range []string{".mp4", ".mov"} {
		in := filepath.Join(dir, "ntsc"+ext)
		testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30000/1001", "-frames:v", "60",
			"-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p", in)
		plan := filepath.Join(dir, "p"+ext+".json")
		mustRun(t, "plan", in, "--style", id, "--chunks", "3", "-o", plan, "--preset", "ultrafast", "--chunk-ext", ext)
		for i := range 3 {
			mustRun(t, "render", "--plan", plan, "--chunk", fmt.Sprint(i), "--progress", "none")
		}
		out := filepath.Join(dir, "merged"+ext)
		mustRun(t, "merge", plan, out)
		sameTimes(t, "merged"+ext+" vs input", sortedTimes(t, out, "v:0"), sortedTimes(t, in, "v:0"), 1e-6)
	}
}

// A node's own copy of the style must be the planner's (bytes and
// sidecar); where it is not, the planner's file is used when the node can
// read it (with a note), else the chunk is refused. An fp16 plan made where
// there is no fp16 variant says so and pins the fp32 file.
func TestChunkModel(t *testing.T) {
	dir := t.TempDir()
	planner, node := filepath.Join(dir, "planner"), filepath.Join(dir, "node")
	for _, d := range []string{planner, node} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := onnxgen.Affine(filepath.Join(planner, "look.onnx"), 1, 0); err != nil {
		t.Fatal(err)
	}
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 10, false)
	plan := filepath.Join(dir, "plan.json")
	code, _, stderr := vidnst(t, "plan", in, "--style", "look", "--models-dir", planner, "--fp16", "--chunks", "1", "-o", plan, "--preset", "ultrafast")
	if code != 0 || !strings.Contains(stderr, "no fp16 variant of look here") {
		t.Fatalf("fp16 plan without a variant: %d %q", code, stderr)
	}
	p, err := farm.Load(plan)
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings.Extra["fp16"] != "" || len(p.Settings.ModelSHA256) != 64 || !strings.Contains(p.Settings.Convention, "0-255") {
		t.Fatalf("plan settings: %+v", p.Settings)
	}
	render := func() (int, string) {
		os.Remove(p.ChunkPath(0) + ".done")
		os.Remove(p.ChunkPath(0))
		code, _, stderr := vidnst(t, "render", "--plan", plan, "--chunk", "0", "--models-dir", node, "--progress", "none")
		return code, stderr
	}
	same, err := os.ReadFile(filepath.Join(planner, "look.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	look, sidecar := filepath.Join(node, "look.onnx"), filepath.Join(node, "look.json")
	write := func(p, data string) error { return os.WriteFile(p, []byte(data), 0o644) }
	for _, c := range []struct {
		name   string
		setup  func() error
		code   int
		stderr string
	}{
		{"the same file", func() error { return write(look, string(same)) }, 0, ""},
		{"another file", func() error { return onnxgen.Affine(look, 1, 9) }, 0, "rendering with the planner's"},
		{"another sidecar", func() error {
			return errors.Join(write(look, string(same)), write(sidecar, `{"range": "0-1"}`))
		}, 0, "rendering with the planner's"},
		{"a sidecar that does not read", func() error { return write(sidecar, `{"range": "0-2"}`) }, 0, "rendering with the planner's"},
		{"another sidecar, no planner's file", func() error {
			return errors.Join(write(sidecar, `{"range": "0-1"}`), os.Rename(filepath.Join(planner, "look.onnx"), filepath.Join(dir, "gone.onnx")))
		}, 1, "sidecar"},
		{"another file, no planner's file", func() error {
			return errors.Join(os.Remove(sidecar), onnxgen.Affine(look, 1, 9))
		}, 1, "not the planned model"},
	} {
		if err := c.setup(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		code, stderr := render()
		if code != c.code || !strings.Contains(stderr, c.stderr) || (c.stderr == "" && strings.Contains(stderr, "planner's")) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, stderr, c.code, c.stderr)
		}
		if _, err := os.Stat(p.ChunkPath(0)); (err == nil) != (c.code == 0) {
			t.Errorf("%s: chunk file: %v", c.name, err)
		}
	}
}

// A plan records what it decided for an interlaced input (so that every
// node deinterlaces it alike, and an older one refuses the plan) and drops
// --fp16 for a model given as a path (used as it is, as a render does).
func TestPlanRecordsDecisions(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	il := filepath.Join(dir, "il.mkv")
	testmedia.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=128x96:r=10", "-frames:v", "4", "-vf", "tinterlace=interleave_top,setfield=tff",
		"-flags", "+ilme+ildct", "-c:v", "libx264", "-x264opts", "tff=1", il)
	plan := filepath.Join(dir, "plan.json")
	code, _, stderr := vidnst(t, "plan", il, "--style", id, "--fp16", "--chunks", "2", "-o", plan)
	if code != 0 || !strings.Contains(stderr, "is used as it is") {
		t.Fatalf("plan: exit %d, %q", code, stderr)
	}
	p, err := farm.Load(plan)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Settings.Extra; e["deinterlace"] != "on" || e["fp16"] != "" {
		t.Errorf("plan settings: %v; want deinterlace on, no fp16", e)
	}
	mustRun(t, "render", "--plan", plan, "--chunk", "1", "--progress", "none")
}

// farm slurm --submit --wait interrupted: the jobs are the cluster's and
// keep running, and the message names them (it said "nothing was
// written"); interrupted between the two sbatch calls, it names the render
// array that was submitted without its merge. A fake sbatch and squeue.
func TestFarmSlurmInterrupted(t *testing.T) {
	dir := t.TempDir()
	id, _ := tinyModels(t, dir)
	in := testmedia.Clip(t, dir, "in.mp4", 64, 48, 25, 10, false)
	plan := filepath.Join(dir, "p.json")
	mustRun(t, "plan", in, "--style", id, "--chunks", "2", "-o", plan)
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	// sbatch: job 101, then 102 (after a pause when SLOW is set); squeue:
	// everything runs for ever.
	sbatch := "#!/bin/sh\ncat >/dev/null\nif [ -e " + filepath.Join(dir, "n") + " ]; then [ -n \"$SLOW\" ] && exec sleep 5; echo 102; else touch " + filepath.Join(dir, "n") + "; echo 101; fi\n"
	squeue := "#!/bin/sh\necho \"$6|$6|N/A|RUNNING|None\"\n"
	os.WriteFile(filepath.Join(bin, "sbatch"), []byte(sbatch), 0o755)
	os.WriteFile(filepath.Join(bin, "squeue"), []byte(squeue), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct {
		slow string
		want string
	}{
		{"", "vidnst: interrupted; render array 101 and merge 102 keep running (scancel 101 102 stops them)\n"},
		{"1", "vidnst: interrupted; render array 101 was submitted and keeps running, its merge job was not (scancel 101 stops it;"},
	} {
		os.Remove(filepath.Join(dir, "n"))
		t.Setenv("SLOW", tc.slow)
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		var o, e bytes.Buffer
		code := run(ctx, []string{"farm", "slurm", "--plan", plan, "--output", filepath.Join(dir, "out.mp4"), "--script-dir", dir, "--submit", "--wait", "-y"}, &o, &e)
		cancel()
		if code != 130 || !strings.HasPrefix(e.String(), tc.want) {
			t.Errorf("SLOW=%q: exit %d, %q", tc.slow, code, e.String())
		}
	}
}
