// Package outfile guards the files a user asks vidnst to write: an output
// never replaces one of the inputs, replaces an existing file only when
// forced, and appears whole or not at all (written beside its final name
// and renamed into place). It is a leaf package with no dependencies
// beyond the standard library.
package outfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"unicode/utf8"
)

// ErrExists is returned (wrapped, with the path) for an existing output
// when the caller did not force.
var ErrExists = errors.New("exists (use -y/--force to overwrite)")

// SameFile reports whether a and b name the same file (symlinks and hard
// links followed; for paths that do not exist, the same absolute path).
func SameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(sa, sb)
	}
	ra, err1 := filepath.Abs(a)
	rb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && ra == rb
}

// Target is the file writing path replaces: path itself, or, when path is
// a symbolic link to a file, the file it points to (so that a forced
// write updates what the link names instead of turning the link into a
// file).
func Target(path string) string {
	if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return path
	}
	if t, err := filepath.EvalSymlinks(path); err == nil {
		return t
	}
	// A link to a file that does not exist yet: follow it by hand (a
	// chain of them too) to the name the file gets.
	p := path
	for range 40 {
		st, err := os.Lstat(p)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return p
		}
		t, err := os.Readlink(p)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = t
	}
	return path
}

// ErrOutput is wrapped by every error of Check: the output path as given
// cannot be written (a command-line mistake, which vidnst exits 2 for).
var ErrOutput = errors.New("output path refused")

// checkError is an error of Check: its own one-line message, wrapping
// ErrOutput and, for an existing file, ErrExists.
type checkError struct {
	msg    string
	exists bool
}

func (e *checkError) Error() string { return e.msg }

func (e *checkError) Unwrap() []error {
	if e.exists {
		return []error{ErrOutput, ErrExists}
	}
	return []error{ErrOutput}
}

// Check says whether path may be written: it is not a folder, not one of
// inputs (whatever force says), its folder exists, and, unless force, it
// does not exist yet. Its errors are one line, name the path and wrap
// ErrOutput.
func Check(path string, force bool, inputs ...string) error {
	for _, in := range inputs {
		if in != "" && SameFile(path, in) {
			return &checkError{msg: fmt.Sprintf("output %s is the input %s", path, in)}
		}
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, syscall.ENAMETOOLONG):
		// Found now, not when the finished output is renamed into place.
		if n := len(filepath.Base(path)); n > MaxName {
			return &checkError{msg: fmt.Sprintf("output %s: file name too long (%d bytes; file systems allow %d)", path, n, MaxName)}
		}
		return &checkError{msg: fmt.Sprintf("output %s: path too long (a folder name of more than %d bytes, or %d bytes in all)", path, MaxName, len(path))}
	case err != nil:
		dir := filepath.Dir(path)
		if d, err := os.Stat(dir); err != nil {
			return &checkError{msg: fmt.Sprintf("output folder %s does not exist", dir)}
		} else if !d.IsDir() {
			return &checkError{msg: fmt.Sprintf("output folder %s is not a folder", dir)}
		}
		return nil
	case st.IsDir():
		return &checkError{msg: fmt.Sprintf("output %s is a folder", path)}
	case !force:
		return &checkError{msg: fmt.Sprintf("output %s %v", path, ErrExists), exists: true}
	}
	return nil
}

// MaxName is the longest file name Linux's file systems take (NAME_MAX).
const MaxName = 255

// TempName is a fresh name for a temporary file in dir for an output
// named base: hidden, with a random part and a ".part" suffix. base is cut
// short (at a UTF-8 boundary) so the name stays within the 255 bytes a
// file system allows, where a long but legal base would pass it.
func TempName(dir, base string) string {
	const room = MaxName - len(".") - len(".vidnst-12345678.part")
	if len(base) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	return filepath.Join(dir, fmt.Sprintf(".%s.vidnst-%08x.part", base, rand.Uint32()))
}

// create makes a temporary file beside path (hidden, with a ".part"
// suffix) with perm less the umask, for the caller to write, close and
// pass to Commit, or remove.
func create(path string, perm fs.FileMode) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	for range 100 {
		name := TempName(dir, base)
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no free temporary name beside %s", path)
}

// Sync puts the file at path, written by other means (FFmpeg's I/O), on
// the disk, for before Commit: with force a crash after the rename must
// not leave a short file where the old one was. It reports a failed sync
// only: a file system that cannot sync is no error, and a file it cannot
// open is Commit's to report.
func Sync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	err = f.Sync()
	f.Close()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

// Commit moves the finished temporary file tmp to path. Without force it
// never replaces a file (one that appeared meanwhile makes it fail with
// ErrExists); with force a replaced file's mode carries over. tmp is gone
// afterwards either way.
func Commit(tmp, path string, force bool) error {
	defer os.Remove(tmp)
	if force {
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			if err := os.Chmod(tmp, st.Mode().Perm()); err != nil {
				return err
			}
		}
		return os.Rename(tmp, path)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("output %s %w", path, ErrExists)
		}
		// A file system without hard links: rename, after a last check.
		if _, serr := os.Stat(path); serr == nil {
			return fmt.Errorf("output %s %w", path, ErrExists)
		}
		return os.Rename(tmp, path)
	}
	return nil
}

// Write writes path through a temporary file and Commit: path ends up with
// all that write wrote, or is left as it was.
func Write(path string, force bool, write func(w io.Writer) error) error {
	return WriteMode(path, 0o666, force, write)
}

// WriteContext is Write stopped by ctx (a signal): write's writes fail
// once ctx has ended, nothing is put in place after that, and ctx's error
// is returned. A file put in place before ctx ended counts as written.
func WriteContext(ctx context.Context, path string, force bool, write func(w io.Writer) error) error {
	err := Write(path, force, func(w io.Writer) error {
		if err := write(ctxWriter{ctx, w}); err != nil {
			return err
		}
		return ctx.Err() // ended after the last write: not put in place
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// ctxWriter fails its writes once ctx has ended, so an encoder writing
// through it stops.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// WriteMode is Write with perm (less the umask) for a new file, e.g. 0777
// for a script. The data is synced to disk before the rename, so a crash
// leaves the old file or the new one.
func WriteMode(path string, perm fs.FileMode, force bool, write func(w io.Writer) error) error {
	path = Target(path)
	f, err := create(path, perm)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return Commit(f.Name(), path, force)
}
