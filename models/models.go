// Package models finds style networks by name: NAME.onnx in the models
// folder ($VIDNST_MODEL_DIR or --models-dir), then in the user's cache
// (~/.cache/vidnst/models). It is pure Go and knows nothing of ONNX itself.
package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrUnknown is returned for a style name found nowhere.
var ErrUnknown = errors.New("unknown style")

// ErrNotFetched is wrapped, beside ErrUnknown, when the name is one of the
// Catalogue's that `vidnst models fetch` downloads: a missing download,
// not a mistyped name.
var ErrNotFetched = errors.New("style not downloaded")

// notFetched is ErrUnknown's error for a Catalogue name.
type notFetched struct{ msg string }

func (e *notFetched) Error() string   { return e.msg }
func (e *notFetched) Unwrap() []error { return []error{ErrUnknown, ErrNotFetched} }

// ErrNoStyle is returned by Resolve for an empty style: a usage mistake.
var ErrNoStyle = errors.New("no style given (--style NAME or --style FILE.onnx)")

// EnvDir is the environment variable naming the models folder.
const EnvDir = "VIDNST_MODEL_DIR"

// CacheDir is the per-user models folder (~/.cache/vidnst/models).
func CacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "vidnst", "models")
}

// Dirs are the folders searched, in order: dir (the --models-dir flag) or
// else $VIDNST_MODEL_DIR, then the cache.
func Dirs(dir string) []string {
	var ds []string
	if dir == "" {
		dir = os.Getenv(EnvDir)
	}
	if dir != "" {
		ds = append(ds, dir)
	}
	if c := CacheDir(); c != "" {
		ds = append(ds, c)
	}
	return ds
}

// IsPath reports whether s names a file rather than a style: it has a
// path separator or ends in .onnx.
func IsPath(s string) bool {
	return strings.ContainsRune(s, os.PathSeparator) || strings.HasSuffix(strings.ToLower(s), ".onnx")
}

// Resolve turns a style name or path into a model file path. A path must
// exist. A name is looked up as NAME.onnx in dirs; when it is found nowhere
// the error lists where it looked and the names that exist.
func Resolve(style string, dirs []string) (string, error) {
	if style == "" {
		return "", fmt.Errorf("models: %w", ErrNoStyle)
	}
	if IsPath(style) {
		st, err := os.Stat(style)
		if err != nil {
			return "", fmt.Errorf("models: %s: no such model file", style)
		}
		if st.IsDir() {
			return "", fmt.Errorf("models: %s: is a directory", style)
		}
		return style, nil
	}
	for _, d := range dirs {
		p := filepath.Join(d, style+".onnx")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	names := Names(dirs)
	have := "none"
	if len(names) > 0 {
		have = strings.Join(names, ", ")
	}
	if _, ok := Catalogue[style]; ok {
		return "", &notFetched{fmt.Sprintf("models: %v %q: looked in %s; styles found: %s (vidnst models fetch %s downloads it)", ErrUnknown, style, strings.Join(dirs, ", "), have, style)}
	}
	return "", fmt.Errorf("models: %w %q: looked in %s; styles found: %s", ErrUnknown, style, strings.Join(dirs, ", "), have)
}

// Model is one style network found in a folder.
type Model struct {
	Name string
	Path string
}

// List returns the models in dirs (an earlier folder's model hides a later
// one of the same name), sorted by name.
func List(dirs []string) []Model {
	seen := map[string]bool{}
	var ms []Model
	for _, d := range dirs {
		es, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range es {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".onnx") {
				continue
			}
			name := strings.TrimSuffix(n, ".onnx")
			if seen[name] {
				continue
			}
			seen[name] = true
			ms = append(ms, Model{Name: name, Path: filepath.Join(d, n)})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}

// Names lists the style names in dirs.
func Names(dirs []string) []string {
	var ns []string
	for _, m := range List(dirs) {
		ns = append(ns, m.Name)
	}
	return ns
}

// FP16 returns the fp16 variant of a model (fp16/NAME-fp16.onnx beside it)
// when it exists.
func FP16(path string) (string, bool) {
	dir, base := filepath.Split(path)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	p := filepath.Join(dir, "fp16", name+"-fp16.onnx")
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p, true
	}
	return "", false
}

// StyleName is the display name of a model path (file name without .onnx).
func StyleName(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}
