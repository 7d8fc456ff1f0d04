package outfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	os.WriteFile(in, []byte("x"), 0o644)
	link := filepath.Join(dir, "link.mp4")
	os.Symlink(in, link)
	hard := filepath.Join(dir, "hard.mp4")
	os.Link(in, hard)
	for _, tc := range []struct {
		path  string
		force bool
		want  string // "" for allowed
	}{
		{filepath.Join(dir, "new.mp4"), false, ""},
		{in, true, "is the input"},
		{link, true, "is the input"},
		{hard, true, "is the input"},
		{filepath.Join(dir, ".", "in.mp4"), true, "is the input"},
		{dir, true, "is a folder"},
		{filepath.Join(dir, "other"), false, ""},
		{filepath.Join(dir, "nodir", "x.mp4"), true, "output folder " + filepath.Join(dir, "nodir") + " does not exist"},
		{filepath.Join(in, "x.mp4"), true, "output folder " + in + " is not a folder"},
		{in, false, "is the input"},
		// Found before the work, not at the final rename.
		{filepath.Join(dir, strings.Repeat("a", 252)+".mp4"), false, "file name too long (256 bytes; file systems allow 255)"},
		{filepath.Join(dir, strings.Repeat("d", 300), "o.mp4"), false, "path too long (a folder name of more than 255 bytes"},
		{filepath.Join(dir, strings.Repeat("a", 251)+".mp4"), false, ""},
	} {
		err := Check(tc.path, tc.force, in)
		if err != nil && !errors.Is(err, ErrOutput) {
			t.Errorf("Check(%s, %v): %v does not wrap ErrOutput", tc.path, tc.force, err)
		}
		if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"))) {
			t.Errorf("Check(%s, %v): %v, want %q", tc.path, tc.force, err, tc.want)
		}
	}
	other := filepath.Join(dir, "other.png")
	os.WriteFile(other, []byte("y"), 0o644)
	if err := Check(other, false, in); !errors.Is(err, ErrExists) || !errors.Is(err, ErrOutput) || err.Error() != "output "+other+" exists (use -y/--force to overwrite)" {
		t.Errorf("existing without force: %v", err)
	}
	if err := Check(other, true, in); err != nil {
		t.Errorf("existing with force: %v", err)
	}
}

func TestWriteModesAndAtomicity(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "out.png")
	if err := Write(p, false, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("new file mode %v, want 0640 (0666 less the umask)", st.Mode().Perm())
	}
	// Without force an existing file stays.
	if err := Write(p, false, func(w io.Writer) error { _, err := io.WriteString(w, "two"); return err }); !errors.Is(err, ErrExists) {
		t.Errorf("second write without force: %v", err)
	}
	// A failing writer leaves the old file and no temporary.
	if err := Write(p, true, func(w io.Writer) error { io.WriteString(w, "partial"); return errors.New("boom") }); err == nil || err.Error() != "boom" {
		t.Errorf("failing write: %v", err)
	}
	// Forced replacement keeps the replaced file's mode.
	os.Chmod(p, 0o604)
	if err := Write(p, true, func(w io.Writer) error { _, err := io.WriteString(w, "three"); return err }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if st, _ := os.Stat(p); string(b) != "three" || st.Mode().Perm() != 0o604 {
		t.Errorf("replaced: %q mode %v", b, st.Mode().Perm())
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("left behind: %v", es)
	}
}

// A forced write through a symbolic link updates the file it names.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.png")
	os.WriteFile(real, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.png")
	os.Symlink(real, link)
	if err := Write(link, true, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", st.Mode(), err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Fatalf("target holds %q", b)
	}
}

// A link to a file not written yet: the file is written where it points.
func TestWriteThroughDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink("sub/later.png", filepath.Join(dir, "a.png"))
	os.Symlink("a.png", filepath.Join(dir, "b.png")) // a chain
	if got := Target(filepath.Join(dir, "b.png")); got != filepath.Join(dir, "sub", "later.png") {
		t.Fatalf("Target: %s", got)
	}
	if err := Write(filepath.Join(dir, "b.png"), false, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b.png")); err != nil || string(b) != "x" {
		t.Fatalf("through the links: %q %v", b, err)
	}
}

// A long but legal output name (up to 255 bytes) still gets a temporary
// name the file system takes, cut at a UTF-8 boundary; short names keep
// their whole base.
func TestTempNameLength(t *testing.T) {
	dir := t.TempDir()
	for _, base := range []string{strings.Repeat("a", 251) + ".mp4", strings.Repeat("é", 125) + ".png", "x.mp4"} {
		name := TempName(dir, base)
		b := filepath.Base(name)
		if len(b) > 255 || !utf8.ValidString(b) || !strings.HasSuffix(b, ".part") {
			t.Errorf("%d-byte base: temporary %q (%d bytes)", len(base), b, len(b))
		}
		if len(base) < 100 && !strings.HasPrefix(b, "."+base+".vidnst-") {
			t.Errorf("short base %q: temporary %q", base, b)
		}
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			t.Errorf("%d-byte base: %v", len(base), err)
		}
		f := filepath.Join(dir, base)
		if err := WriteMode(f, 0o644, false, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }); err != nil {
			t.Errorf("WriteMode of a %d-byte name: %v", len(base), err)
		}
	}
}

// WriteContext: a write stopped by its context puts nothing in place and
// returns the context's error; one finished before it ended is in place.
func TestWriteContext(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	p := filepath.Join(dir, "a.txt")
	err := WriteContext(ctx, p, false, func(w io.Writer) error {
		if _, err := w.Write([]byte("first")); err != nil {
			return err
		}
		cancel() // a signal mid-write
		_, err := w.Write([]byte("second"))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped write: %v", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left behind: %v", es)
	}
	// Canceled after the last write: not put in place either.
	ctx, cancel = context.WithCancel(context.Background())
	err = WriteContext(ctx, p, false, func(w io.Writer) error {
		_, err := w.Write([]byte("all"))
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled after the last write: %v", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left behind: %v", es)
	}
	if err := WriteContext(context.Background(), p, false, func(w io.Writer) error { _, err := w.Write([]byte("all")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "all" {
		t.Fatalf("content %q", b)
	}
}
