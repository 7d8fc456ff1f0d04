package farm

import (
	"encoding/json"
	"errors"
	"github.com/stretchr/testify/require"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTestPlan writes an input file of size bytes in a fresh folder and
// returns a saved plan for it with n chunks over frames frames.
func newTestPlan(t *testing.T, dir string, size, frames, n int) (*Plan, string) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	in := filepath.Join(dir, "in put.mp4")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(in, data, 0o644))
	planPath := filepath.Join(dir, "plan.json")
	input, err := NewInput(in, planPath)
	require.NoError(t, err)
	input.Width, input.Height, input.FrameCount = 64, 48, frames
	input.FrameRate = Rational{30, 1}
	input.TimeBase = Rational{1, 15360}
	input.Duration = float64(frames) / 30
	p := &Plan{
		Input:    input,
		Settings: Settings{Style: "mosaic", MaxSide: 512, Codec: "libx264", CRF: 18, Extra: map[string]string{"k": "v"}},
		WarmUp:   8,
		Chunks:   Split(frames, nil, n),
	}
	require.NoError(t, p.Save(planPath))
	return p, planPath
}

func TestChunkFileName(t *testing.T) {
	for _, tc := range []struct {
		i, n int
		ext  string
		want string
	}{
		{3, 10, "", "chunk-0003.mp4"},
		{3, 10, "mkv", "chunk-0003.mkv"},
		{3, 10, ".mov", "chunk-0003.mov"},
		{12, 20000, "", "chunk-00012.mp4"},
	} {
		require.Equal(t, tc.want, ChunkFileName(tc.i, tc.n, tc.ext))
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	p, planPath := newTestPlan(t, "", 3000, 100, 4)
	require.Equal(t, "in put.mp4", p.Input.RelPath)
	q, err := Load(planPath)
	require.NoError(t, err)
	require.Equal(t, filepath.Dir(planPath), q.Dir)
	require.Equal(t, p, q)

	raw, err := os.ReadFile(planPath)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	require.EqualValues(t, 1, m["version"])
	// No temp files are left behind.
	ents, err := os.ReadDir(filepath.Dir(planPath))
	require.NoError(t, err)
	require.Len(t, ents, 2)
}

func TestLoadRelocatedUsesRelativeInput(t *testing.T) {
	base := t.TempDir()
	orig := filepath.Join(base, "orig")
	require.NoError(t, os.Mkdir(orig, 0o755))
	p, _ := newTestPlan(t, orig, 100, 10, 2)
	moved := filepath.Join(base, "moved")
	require.NoError(t, os.Rename(orig, moved))

	q, err := Load(filepath.Join(moved, "plan.json"))
	require.NoError(t, err)
	require.Equal(t, p.Input.Path, q.Input.Path) // still the planning machine's path
	require.Equal(t, filepath.Join(moved, "in put.mp4"), q.InputPath())
	require.NoError(t, q.CheckInput(""))
	require.Equal(t, filepath.Join(moved, "chunk-0001.mp4"), q.ChunkPath(1))
	q.OutDir = "out"
	require.Equal(t, filepath.Join(moved, "out", "chunk-0001.mp4"), q.ChunkPath(1))
	q.OutDir = "/abs"
	require.Equal(t, filepath.Join("/abs", "chunk-0001.mp4"), q.ChunkPath(1))
}

func TestLoadErrors(t *testing.T) {
	p, planPath := newTestPlan(t, "", 100, 10, 2)
	good, err := os.ReadFile(planPath)
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		raw    string
		want   string
	}{
		{name: "version", mutate: func(m map[string]any) { m["version"] = 2 }, want: "unsupported version 2"},
		{name: "no chunks", mutate: func(m map[string]any) { m["chunks"] = []any{} }, want: "no chunks"},
		{name: "gap", mutate: func(m map[string]any) { chunk(m, 1)["start"] = 6 }, want: "chunk 1 starts at frame 6, want 5"},
		{name: "short", mutate: func(m map[string]any) { chunk(m, 1)["end"] = 9 }, want: "chunks end at frame 9, input has 10 frames"},
		{name: "empty chunk", mutate: func(m map[string]any) { chunk(m, 1)["end"] = 5 }, want: "chunk 1 is empty"},
		{name: "index", mutate: func(m map[string]any) { chunk(m, 1)["index"] = 7 }, want: "chunk 1 has index 7"},
		{name: "file path", mutate: func(m map[string]any) { chunk(m, 1)["file"] = "../x.mp4" }, want: "must be a plain file name"},
		{name: "dup file", mutate: func(m map[string]any) { chunk(m, 1)["file"] = "chunk-0000.mp4" }, want: "share file"},
		{name: "hash", mutate: func(m map[string]any) { input(m)["sha256_first_1mib"] = "abc" }, want: "not 64 lowercase hex"},
		{name: "relative input", mutate: func(m map[string]any) { input(m)["path"] = "in.mp4" }, want: "is not absolute"},
		{name: "frames", mutate: func(m map[string]any) { input(m)["frame_count"] = 0 }, want: "frame_count 0 must be positive"},
		{name: "rate", mutate: func(m map[string]any) { input(m)["frame_rate"] = map[string]any{"num": 30, "den": 0} }, want: "frame_rate 30/0"},
		{name: "warm up", mutate: func(m map[string]any) { m["warm_up"] = -1 }, want: "warm_up -1"},
		{name: "style", mutate: func(m map[string]any) { m["settings"].(map[string]any)["style"] = "" }, want: "style is empty"},
		{name: "unknown field", mutate: func(m map[string]any) { m["chunkz"] = 1 }, want: "unknown field \"chunkz\" (made by a newer vidnst?)"},
		{name: "not json", raw: "{", want: "invalid json"},
		{name: "trailing", raw: string(good) + "{}", want: "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.mutate != nil {
				var m map[string]any
				require.NoError(t, json.Unmarshal(good, &m))
				tc.mutate(m)
				var err error
				data, err = json.Marshal(m)
				require.NoError(t, err)
			}
			path := filepath.Join(t.TempDir(), "p.json")
			require.NoError(t, os.WriteFile(path, data, 0o644))
			_, err := Load(path)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "farm: "), err.Error())
			require.NotContains(t, err.Error(), "\n")
		})
	}

	_, err = Load(filepath.Join(t.TempDir(), "nope.json"))
	require.ErrorContains(t, err, "does not exist")

	// Save refuses an invalid plan and leaves the old file alone.
	p.Chunks[0].End = 3
	require.ErrorContains(t, p.Save(planPath), "farm: plan: chunk 1 starts at frame 5, want 3")
	after, err := os.ReadFile(planPath)
	require.NoError(t, err)
	require.Equal(t, good, after)
}

func chunk(m map[string]any, i int) map[string]any { return m["chunks"].([]any)[i].(map[string]any) }
func input(m map[string]any) map[string]any        { return m["input"].(map[string]any) }

func TestFileIdentityAndCheckInput(t *testing.T) {
	dir := t.TempDir()
	big := IdentityBytes + 5000
	p, _ := newTestPlan(t, dir, big, 10, 2)
	in := p.InputPath()

	size, sum, err := FileIdentity(in)
	require.NoError(t, err)
	require.EqualValues(t, big, size)
	require.Equal(t, p.Input.SHA256First1MiB, sum)
	require.NoError(t, p.CheckInput(in))

	orig, err := os.ReadFile(in)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		data    func() []byte
		changed bool
	}{
		{"same", func() []byte { return orig }, false},
		{"appended", func() []byte { return append(append([]byte{}, orig...), 1) }, true},
		{"truncated", func() []byte { return orig[:len(orig)-1] }, true},
		{"byte in first MiB", func() []byte { d := append([]byte{}, orig...); d[100]++; return d }, true},
		// Documented limit: only the first MiB is hashed.
		{"byte after first MiB", func() []byte { d := append([]byte{}, orig...); d[IdentityBytes+10]++; return d }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(in, tc.data(), 0o644))
			err := p.CheckInput("")
			if tc.changed {
				require.ErrorIs(t, err, ErrInputChanged)
				require.True(t, strings.HasPrefix(err.Error(), "farm: input changed"), err.Error())
			} else {
				require.NoError(t, err)
			}
		})
	}

	require.NoError(t, os.Remove(in))
	err = p.CheckInput("")
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrInputChanged))
	_, _, err = FileIdentity(dir)
	require.ErrorContains(t, err, "not a regular file")
}

func TestDoneMarkers(t *testing.T) {
	p, planPath := newTestPlan(t, "", 100, 10, 3) // chunks: [0,3) [3,7) [7,10)
	require.Equal(t, []int{0, 1, 2}, Missing(p))
	require.ErrorContains(t, MarkDone(p, 0, 3), "no such file")

	for i := range p.Chunks {
		require.NoError(t, os.WriteFile(p.ChunkPath(i), []byte(strings.Repeat("x", i+1)), 0o644))
	}
	require.ErrorContains(t, MarkDone(p, 1, 3), "farm: chunk 1: rendered 3 frames, the plan wants 4")
	require.ErrorContains(t, MarkDone(p, 5, 3), "out of range")
	require.False(t, IsDone(p, 1))

	require.NoError(t, MarkDone(p, 0, 3))
	require.NoError(t, MarkDone(p, 1, 4))
	require.True(t, IsDone(p, 0))
	require.Equal(t, []int{2}, Missing(p))
	rec, err := ReadDone(p, 1)
	require.NoError(t, err)
	require.Equal(t, DoneRecord{Chunk: 1, Frames: 4, Size: 2, SHA256: rec.SHA256, Plan: p.Fingerprint(1)}, rec)

	// A reloaded plan agrees.
	q, err := Load(planPath)
	require.NoError(t, err)
	require.Equal(t, []int{2}, Missing(q))

	// Same size, other content: not done.
	require.NoError(t, os.WriteFile(p.ChunkPath(1), []byte("yy"), 0o644))
	require.ErrorContains(t, CheckDone(p, 1), "does not match its marker")
	// Other size.
	require.NoError(t, os.WriteFile(p.ChunkPath(0), []byte("xx"), 0o644))
	require.ErrorContains(t, CheckDone(p, 0), "is 2 bytes, marker says 1")
	require.NoError(t, MarkDone(p, 0, 3))
	require.NoError(t, CheckDone(p, 0))

	// Markers from a plan with other settings do not count.
	q.Settings.Style = "other"
	require.ErrorContains(t, CheckDone(q, 0), "different plan")
	// A deleted chunk file is not done.
	require.NoError(t, os.Remove(p.ChunkPath(0)))
	require.False(t, IsDone(p, 0))
	require.Equal(t, []int{0, 1, 2}, Missing(p))
	// A corrupt marker.
	require.NoError(t, os.WriteFile(p.DonePath(2), []byte("{"), 0o644))
	require.ErrorContains(t, CheckDone(p, 2), "bad completion marker")
}

func TestTempPath(t *testing.T) {
	got := TempPath("/a/b/chunk-0003.mp4")
	require.Equal(t, "/a/b", filepath.Dir(got))
	require.True(t, strings.HasPrefix(filepath.Base(got), ".chunk-0003.tmp-"), got)
	require.Equal(t, ".mp4", filepath.Ext(got))
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	require.NoError(t, WriteFileAtomic(path, []byte("one"), 0o600))
	require.NoError(t, WriteFileAtomic(path, []byte("two"), 0o666))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "two", string(data))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a replaced file keeps its mode")
	// Through a symbolic link: the file it names is written, the link stays.
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink("f", link))
	require.NoError(t, WriteFileAtomic(link, []byte("three"), 0o666))
	lst, err := os.Lstat(link)
	require.NoError(t, err)
	require.NotZero(t, lst.Mode()&os.ModeSymlink)
	data, _ = os.ReadFile(path)
	require.Equal(t, "three", string(data))
	ents, _ := os.ReadDir(dir)
	require.Len(t, ents, 2)
	require.ErrorContains(t, WriteFileAtomic(filepath.Join(dir, "no", "f"), nil, 0o644), "farm: write")
}

// A chunk render's model must be the planner's file, byte for byte, and
// read pixels the same way; what a plan does not record passes.
func TestCheckModel(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "candy.onnx")
	if err := os.WriteFile(m, []byte("model one"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := ModelSum(m)
	if err != nil || len(sum) != 64 {
		t.Fatalf("ModelSum: %q, %v", sum, err)
	}
	if _, err := ModelSum(filepath.Join(dir, "missing.onnx")); err == nil {
		t.Error("ModelSum of a missing file: no error")
	}
	p := &Plan{Settings: Settings{ModelSHA256: sum, Convention: "rgb 0-255", Extra: map[string]string{"model": "/planner/candy.onnx"}}}
	if err := p.CheckModel(m, sum, "rgb 0-255"); err != nil {
		t.Errorf("the planned model: %v", err)
	}
	for _, c := range []struct {
		sum, conv, says string
	}{
		{strings.Repeat("0", 64), "rgb 0-255", "/planner/candy.onnx"},
		{sum, "bgr 0-1", "sidecar"},
	} {
		err := p.CheckModel(m, c.sum, c.conv)
		if !errors.Is(err, ErrModelChanged) || !strings.Contains(err.Error(), m) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("sum %.8s, convention %q: %v", c.sum, c.conv, err)
		}
	}
	old := &Plan{}
	if err := old.CheckModel(m, "other", "other"); err != nil {
		t.Errorf("a plan without a model identity: %v", err)
	}
}
