package farm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// IdentityBytes is how much of the input FileIdentity hashes: 1 MiB.
const IdentityBytes = 1 << 20

// ErrInputChanged is returned (wrapped) by [Plan.CheckInput] when the input
// found on disk differs in size or leading content from the planned one.
var ErrInputChanged = errors.New("farm: input changed since the plan was made")

// ErrModelChanged is returned (wrapped) by [Plan.CheckModel] when a chunk
// render's model file is not the one the plan was made with.
var ErrModelChanged = errors.New("farm: not the planned model")

// ErrOptions is wrapped by the errors of SlurmScripts and K8sManifests
// that name an option the caller gave (a name, path or quantity they
// cannot use): the caller's mistake, not the plan's.
var ErrOptions = errors.New("farm: bad options")

// optionError is an error of a bad option: its own message, wrapping
// ErrOptions.
type optionError struct{ msg string }

func (e *optionError) Error() string { return e.msg }
func (e *optionError) Unwrap() error { return ErrOptions }

func optionErrorf(format string, a ...any) error {
	return &optionError{fmt.Sprintf(format, a...)}
}

// FileIdentity returns the size of the file at path and the lowercase hex
// SHA-256 of its first MiB (of all of it when shorter). It reads at most
// 1 MiB, so it is cheap even for huge inputs.
func FileIdentity(path string) (size int64, sha string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("farm: input identity: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, "", fmt.Errorf("farm: input identity: %w", err)
	}
	if !st.Mode().IsRegular() {
		return 0, "", fmt.Errorf("farm: input identity: %s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, IdentityBytes)); err != nil {
		return 0, "", fmt.Errorf("farm: input identity: read %s: %w", path, err)
	}
	return st.Size(), hex.EncodeToString(h.Sum(nil)), nil
}

// CheckInput verifies that the file at path (when path is empty, at
// [Plan.InputPath]) still has the planned size and first-MiB hash. A
// mismatch returns an error wrapping [ErrInputChanged]; a file that cannot be
// read returns a plain error.
func (p *Plan) CheckInput(path string) error {
	if path == "" {
		path = p.InputPath()
	}
	size, sum, err := FileIdentity(path)
	if err != nil {
		return err
	}
	switch {
	case size != p.Input.Size:
		return fmt.Errorf("%w: %s is %d bytes, the plan says %d", ErrInputChanged, path, size, p.Input.Size)
	case sum != p.Input.SHA256First1MiB:
		return fmt.Errorf("%w: %s first-MiB sha256 is %.12s…, the plan says %.12s…", ErrInputChanged, path, sum, p.Input.SHA256First1MiB)
	}
	return nil
}

// ModelSum is the lowercase hex SHA-256 of the whole model file at path, as
// a plan records it (Settings.ModelSHA256).
func ModelSum(path string) (string, error) {
	_, sum, err := hashFile(path)
	if err != nil {
		return "", fmt.Errorf("farm: model identity: %w", err)
	}
	return sum, nil
}

// CheckModel verifies that the model file at path, the one a chunk render
// resolved for the plan's style, with sum (ModelSum of it) and convention
// (how it reads pixels), is the model the plan was made with: a node with
// another version of a style, a retrained file under the same name or
// another sidecar would render chunks that do not match their neighbours.
// A mismatch returns an error wrapping [ErrModelChanged]; what a plan does
// not record (plans made before it did) is not checked.
func (p *Plan) CheckModel(path, sum, convention string) error {
	planner := "the planner's file"
	if m := p.Settings.Extra["model"]; m != "" {
		planner += " (" + m + ")"
	}
	switch {
	case p.Settings.ModelSHA256 != "" && sum != p.Settings.ModelSHA256:
		return fmt.Errorf("%w: %s has sha256 %.12s…, the plan's model %.12s…: its chunks would not match the others'; give this node %s", ErrModelChanged, path, sum, p.Settings.ModelSHA256, planner)
	case p.Settings.Convention != "" && convention != p.Settings.Convention:
		return fmt.Errorf("%w: %s reads pixels as %s here, the plan's model as %s (its sidecar .json differs): its chunks would not match the others'; give this node the planner's sidecar", ErrModelChanged, path, convention, p.Settings.Convention)
	}
	return nil
}
