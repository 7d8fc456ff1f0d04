package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Upstream is one downloadable style network.
type Upstream struct {
	Name   string
	URL    string
	SHA256 string // "" when no checksum is published
	Size   int64  // bytes, 0 when unknown
}

const zoo = "https://github.com/onnx/models/raw/main/validated/vision/style_transfer/fast_neural_style/model/"

// Catalogue lists the five fast-neural-style models of the ONNX Model Zoo
// (BSD-3-Clause). Checksums and sizes are the published ones (see the
// shared models README); files without them are only checked for starting
// like an ONNX file (see Fetch). The files fix their input at
// [1,3,224,224]; the stylize package frees those dims to run them at any
// size.
var Catalogue = map[string]Upstream{
	"candy":         {Name: "candy", URL: zoo + "candy-9.onnx"},
	"mosaic":        {Name: "mosaic", URL: zoo + "mosaic-9.onnx"},
	"pointilism":    {Name: "pointilism", URL: zoo + "pointilism-8.onnx", SHA256: "09fb31931c1826daf42552e451a908d068486a3ca946324a3ece758d51f46cad", Size: 6726529},
	"rain-princess": {Name: "rain-princess", URL: zoo + "rain-princess-9.onnx"},
	"udnie":         {Name: "udnie", URL: zoo + "udnie-9.onnx", SHA256: "8656b6ce7dec8f22ee13c2d557d6b67bd6f550dde88d0f2e7c9972aeb765cc0d", Size: 6728029},
}

// CatalogueNames lists the names Fetch knows.
func CatalogueNames() []string {
	var ns []string
	for n := range Catalogue {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// ErrChecksum is returned when a download does not match its checksum.
var ErrChecksum = errors.New("checksum mismatch")

// Fetch downloads u into dir/NAME.onnx (through a temporary file, checked
// before it is renamed into place). progress, if set, is called with bytes
// done and the total (-1 when unknown).
func Fetch(ctx context.Context, client *http.Client, u Upstream, dir string, progress func(done, total int64)) (string, error) {
	dst := filepath.Join(dir, u.Name+".onnx")
	byHand := fmt.Sprintf("download %s by hand and put it at %s (or set $%s to a folder that has %s.onnx)", u.URL, dst, EnvDir, u.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		why := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			why = ue.Err.Error()
		}
		return "", fmt.Errorf("models: cannot download %s (%s): %s", u.Name, why, byHand)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("models: download of %s failed (%s): %s", u.Name, resp.Status, byHand)
	}
	// Made once there is something to put in it: a failed (offline)
	// fetch leaves no new empty folders behind.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+u.Name+".onnx.*.part")
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	total := resp.ContentLength
	var done int64
	var head []byte // the first bytes, for the format check
	buf := make([]byte, 64<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := tmp.Write(buf[:n]); err != nil {
				tmp.Close()
				return "", fmt.Errorf("models: %w", err)
			}
			h.Write(buf[:n])
			if len(head) < 16 {
				head = append(head, buf[:min(n, 16-len(head))]...)
			}
			done += int64(n)
			if progress != nil {
				progress(done, total)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			tmp.Close()
			return "", fmt.Errorf("models: download of %s broke off: %s", u.Name, byHand)
		}
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if u.SHA256 != "" && !strings.EqualFold(sum, u.SHA256) {
		return "", fmt.Errorf("models: %s: %w (got %s, want %s)", u.Name, ErrChecksum, sum, u.SHA256)
	}
	if u.Size > 0 && done != u.Size {
		return "", fmt.Errorf("models: %s: %w (got %d bytes, want %d)", u.Name, ErrChecksum, done, u.Size)
	}
	// An ONNX file is a ModelProto, which every writer starts with its
	// ir_version (field 1, a varint: byte 0x08). A Git LFS pointer or an
	// HTML page served in its place does not.
	if len(head) < 2 || head[0] != 0x08 {
		return "", fmt.Errorf("models: download of %s is not an ONNX file (%d bytes starting %q): %s", u.Name, done, head, byHand)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	return dst, nil
}
