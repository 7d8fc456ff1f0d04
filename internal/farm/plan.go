package farm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vidnst/vidnst/internal/outfile"
)

// PlanVersion is the only plan format version this package reads and writes.
const PlanVersion = 1

// Rational is a fraction such as a frame rate (30000/1001) or a time base
// (1/90000).
type Rational struct {
	Num int64 `json:"num"`
	Den int64 `json:"den"`
}

// Float returns r as a float64 (0 when Den is 0).
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Input identifies the input video of a plan. Renderers refuse to work when
// the file they find no longer matches (see [Plan.CheckInput]).
type Input struct {
	// Path is the absolute path of the input on the planning machine.
	Path string `json:"path"`
	// RelPath is Path relative to the plan folder (slash-separated). It is
	// recomputed by [Plan.Save]; empty when no relative form exists (for
	// example another drive on Windows).
	RelPath string `json:"rel_path,omitempty"`
	// Size is the input's size in bytes.
	Size int64 `json:"size"`
	// SHA256First1MiB is the lowercase hex SHA-256 of the first MiB of the
	// input (of the whole file when it is smaller).
	SHA256First1MiB string `json:"sha256_first_1mib"`

	Width      int      `json:"width,omitempty"`
	Height     int      `json:"height,omitempty"`
	FrameCount int      `json:"frame_count"`
	Duration   float64  `json:"duration,omitempty"` // seconds
	FrameRate  Rational `json:"frame_rate"`
	TimeBase   Rational `json:"time_base"`
}

// Settings are the render flags shared by all chunks. Fields the CLI knows
// about have names; anything else goes in Extra.
type Settings struct {
	Style          string  `json:"style"`
	MaxSide        int     `json:"max_side,omitempty"`
	Codec          string  `json:"codec,omitempty"`
	CRF            int     `json:"crf,omitempty"`
	Preset         string  `json:"preset,omitempty"`
	PixFmt         string  `json:"pix_fmt,omitempty"`
	TemporalMode   string  `json:"temporal_mode,omitempty"`
	TemporalWeight float64 `json:"temporal_weight,omitempty"`
	FlowPreset     string  `json:"flow_preset,omitempty"`
	Audio          string  `json:"audio,omitempty"`
	// ModelSHA256 is the lowercase hex SHA-256 of the model file the
	// planner resolved, and Convention how the model reads and writes
	// pixels (its sidecar's settings, in the caller's words): see
	// [Plan.CheckModel]. Empty in plans made before they were recorded.
	ModelSHA256 string            `json:"model_sha256,omitempty"`
	Convention  string            `json:"convention,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
}

// Chunk is one piece of work: frames [Start, End) of the input, written to
// File (a plain file name, resolved by [Plan.ChunkPath]).
type Chunk struct {
	Index int `json:"index"`
	Start int `json:"start"` // first frame, inclusive
	End   int `json:"end"`   // last frame, exclusive
	// StartPTS is the presentation timestamp of frame Start in the input's
	// time base, when the planner knows it (it helps seeking).
	StartPTS *int64 `json:"start_pts,omitempty"`
	File     string `json:"file"`
}

// Frames returns the number of frames in the chunk.
func (c Chunk) Frames() int { return c.End - c.Start }

// Plan describes a chunked render. See the package documentation for how
// paths are resolved.
type Plan struct {
	Version  int      `json:"version"`
	Input    Input    `json:"input"`
	Settings Settings `json:"settings"`
	// WarmUp is the number of frames before a chunk's Start that a renderer
	// processes (and does not write) so that temporal state matches a
	// continuous render.
	WarmUp int `json:"warm_up"`
	// OutDir, when set, is where chunk files and markers live: relative to
	// the plan folder or absolute. Empty means the plan folder.
	OutDir string  `json:"out_dir,omitempty"`
	Chunks []Chunk `json:"chunks"`

	// Dir is the folder the plan was loaded from or saved to (absolute).
	// Relative paths are resolved against it. Not stored in the file.
	Dir string `json:"-"`
}

// ChunkFileName returns the conventional chunk file name for chunk i of n,
// for example "chunk-0003.mp4" (ext without or with a leading dot; empty
// means ".mp4"). The index is zero-padded to at least 4 digits, more when n
// needs it, so names sort in chunk order.
func ChunkFileName(i, n int, ext string) string {
	if ext == "" {
		ext = ".mp4"
	}
	if ext[0] != '.' {
		ext = "." + ext
	}
	width := len(fmt.Sprint(n - 1))
	if width < 4 {
		width = 4
	}
	return fmt.Sprintf("chunk-%0*d%s", width, i, ext)
}

// NewInput returns the identity of the file at inputPath (Path, RelPath
// relative to the folder of planPath, Size and SHA256First1MiB). The caller
// fills in the probed fields (geometry, frame count, rates).
func NewInput(inputPath, planPath string) (Input, error) {
	abs, err := filepath.Abs(inputPath)
	if err != nil {
		return Input{}, fmt.Errorf("farm: input path: %w", err)
	}
	size, sum, err := FileIdentity(abs)
	if err != nil {
		return Input{}, err
	}
	in := Input{Path: abs, Size: size, SHA256First1MiB: sum}
	if planPath != "" {
		planAbs, err := filepath.Abs(planPath)
		if err != nil {
			return Input{}, fmt.Errorf("farm: plan path: %w", err)
		}
		in.RelPath = relSlash(filepath.Dir(planAbs), abs)
	}
	return in, nil
}

func relSlash(base, target string) string {
	rel, err := filepath.Rel(base, target)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// InputPath returns where this machine should read the input: the relative
// form (Dir joined with Input.RelPath) if that file exists, else Input.Path
// if that exists, else the relative form when there is one (so that error
// messages name the path a relocated plan expects), else Input.Path.
func (p *Plan) InputPath() string {
	var rel string
	if p.Input.RelPath != "" && p.Dir != "" {
		rel = filepath.Join(p.Dir, filepath.FromSlash(p.Input.RelPath))
		if fileExists(rel) {
			return rel
		}
	}
	if p.Input.Path != "" && fileExists(p.Input.Path) {
		return p.Input.Path
	}
	if rel != "" {
		return rel
	}
	return p.Input.Path
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// ChunkDir returns the folder holding chunk files and markers: OutDir when
// set (resolved against Dir when relative), else Dir.
func (p *Plan) ChunkDir() string {
	if p.OutDir == "" {
		return p.Dir
	}
	if filepath.IsAbs(p.OutDir) {
		return p.OutDir
	}
	return filepath.Join(p.Dir, filepath.FromSlash(p.OutDir))
}

// ChunkPath returns the path of chunk i's file. It panics if i is out of
// range, like a slice index.
func (p *Plan) ChunkPath(i int) string {
	return filepath.Join(p.ChunkDir(), p.Chunks[i].File)
}

// Validate checks the plan's invariants and returns the first problem found
// as a one-line error starting with "farm: plan: ".
func (p *Plan) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("farm: plan: "+format, a...)
	}
	if p.Version != PlanVersion {
		return bad("unsupported version %d (want %d)", p.Version, PlanVersion)
	}
	in := &p.Input
	switch {
	case in.Path == "":
		return bad("input path is empty")
	case !filepath.IsAbs(in.Path) && !isSlashAbs(in.Path):
		return bad("input path %q is not absolute", in.Path)
	case in.Size < 0:
		return bad("input size %d is negative", in.Size)
	case !sha256Hex.MatchString(in.SHA256First1MiB):
		return bad("input sha256_first_1mib %q is not 64 lowercase hex digits", in.SHA256First1MiB)
	case in.FrameCount <= 0:
		return bad("input frame_count %d must be positive", in.FrameCount)
	case in.Width < 0 || in.Height < 0:
		return bad("input size %dx%d is negative", in.Width, in.Height)
	case in.Duration < 0:
		return bad("input duration %g is negative", in.Duration)
	case in.FrameRate.Num < 0 || in.FrameRate.Den < 0 || (in.FrameRate.Num > 0) != (in.FrameRate.Den > 0):
		return bad("input frame_rate %d/%d is invalid", in.FrameRate.Num, in.FrameRate.Den)
	case in.TimeBase.Num < 0 || in.TimeBase.Den < 0 || (in.TimeBase.Num > 0) != (in.TimeBase.Den > 0):
		return bad("input time_base %d/%d is invalid", in.TimeBase.Num, in.TimeBase.Den)
	}
	if p.Settings.Style == "" {
		return bad("settings style is empty")
	}
	if p.WarmUp < 0 {
		return bad("warm_up %d is negative", p.WarmUp)
	}
	if len(p.Chunks) == 0 {
		return bad("no chunks")
	}
	files := make(map[string]int, len(p.Chunks))
	next := 0
	for i, c := range p.Chunks {
		switch {
		case c.Index != i:
			return bad("chunk %d has index %d", i, c.Index)
		case c.Start != next:
			return bad("chunk %d starts at frame %d, want %d (chunks must be contiguous)", i, c.Start, next)
		case c.End <= c.Start:
			return bad("chunk %d is empty (frames %d-%d)", i, c.Start, c.End)
		case c.File == "":
			return bad("chunk %d has no file", i)
		case c.File != filepath.Base(c.File) || c.File == "." || c.File == ".." || !filepath.IsLocal(c.File):
			return bad("chunk %d file %q must be a plain file name", i, c.File)
		}
		if j, dup := files[c.File]; dup {
			return bad("chunks %d and %d share file %q", j, i, c.File)
		}
		files[c.File] = i
		next = c.End
	}
	if next != in.FrameCount {
		return bad("chunks end at frame %d, input has %d frames", next, in.FrameCount)
	}
	return nil
}

// isSlashAbs accepts "/x" paths on every OS so that plans written on Unix
// validate anywhere.
func isSlashAbs(p string) bool { return len(p) > 0 && p[0] == '/' }

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Save validates the plan, sets Dir to path's folder, recomputes
// Input.RelPath for that folder and writes the plan atomically (a temporary
// file in the same folder, then rename).
func (p *Plan) Save(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("farm: plan path: %w", err)
	}
	if p.Version == 0 {
		p.Version = PlanVersion
	}
	dir := filepath.Dir(abs)
	if filepath.IsAbs(p.Input.Path) {
		p.Input.RelPath = relSlash(dir, p.Input.Path)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("farm: encode plan: %w", err)
	}
	data = append(data, '\n')
	if err := WriteFileAtomic(abs, data, 0o666); err != nil {
		return err
	}
	p.Dir = dir
	return nil
}

// Load reads and validates the plan at path and sets its Dir. Unknown JSON
// fields are rejected so that typos do not go unnoticed.
func Load(path string) (*Plan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("farm: plan path: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("farm: plan %s does not exist", path)
		}
		return nil, fmt.Errorf("farm: read plan: %w", err)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return nil, fmt.Errorf("farm: plan %s: %v (made by a newer vidnst?)", path, err)
		}
		return nil, fmt.Errorf("farm: plan %s: invalid json: %v", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("farm: plan %s: trailing data after the json object", path)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	p.Dir = filepath.Dir(abs)
	return &p, nil
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path, so readers see either the old or the new
// content, never a partial file (internal/outfile: through a symbolic link
// to the file it names; a new file gets perm less the umask, a replaced
// one keeps its mode). Whether path may be replaced is the caller's check.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	err := outfile.WriteMode(path, perm, true, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("farm: write %s: %w", path, err)
	}
	return nil
}

// TempPath returns a temporary name for writing final in place: same folder,
// same extension (so muxers that guess the format from the name still work),
// unique per process, e.g. "dir/.chunk-0003.tmp-1234.mp4". Write there, then
// os.Rename to final.
func TempPath(final string) string {
	dir, base := filepath.Split(final)
	ext := filepath.Ext(base)
	stem := base[:len(base)-len(ext)]
	return filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d%s", stem, os.Getpid(), ext))
}
