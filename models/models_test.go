package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(a, "candy.onnx"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(b, "candy.onnx"), []byte("y"), 0o644)
	os.WriteFile(filepath.Join(b, "mosaic.onnx"), []byte("y"), 0o644)
	os.MkdirAll(filepath.Join(b, "fp16"), 0o755)
	os.WriteFile(filepath.Join(b, "fp16", "mosaic-fp16.onnx"), []byte("y"), 0o644)
	dirs := []string{a, b}
	for _, tc := range []struct{ style, want, err string }{
		{"candy", filepath.Join(a, "candy.onnx"), ""},
		{"mosaic", filepath.Join(b, "mosaic.onnx"), ""},
		{filepath.Join(b, "candy.onnx"), filepath.Join(b, "candy.onnx"), ""},
		{"udnie", "", "styles found: candy, mosaic"},
		{"missing.onnx", "", "no such model file"},
	} {
		got, err := Resolve(tc.style, dirs)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Resolve(%q) error %v, want it to mention %q", tc.style, err, tc.err)
			}
			if tc.style == "udnie" && (!errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), a)) {
				t.Errorf("unknown-style error should list where it looked: %v", err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.style, got, err, tc.want)
		}
	}
	if ns := Names(dirs); len(ns) != 2 {
		t.Errorf("Names = %v", ns)
	}
	if p, ok := FP16(filepath.Join(b, "mosaic.onnx")); !ok || !strings.HasSuffix(p, "fp16/mosaic-fp16.onnx") {
		t.Errorf("FP16 = %q %v", p, ok)
	}
	if _, ok := FP16(filepath.Join(b, "candy.onnx")); ok {
		t.Error("FP16 found a variant that does not exist")
	}
}

func TestFetch(t *testing.T) {
	body := append([]byte{0x08, 0x08}, strings.Repeat("onnx", 5000)...) // ir_version 8, then anything
	sum := sha256.Sum256(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.onnx" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/lfs.onnx" {
			w.Write([]byte("version https://git-lfs.github.com/spec/v1\noid sha256:8656b6ce\nsize 6728029\n"))
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	var last int64
	p, err := Fetch(context.Background(), nil, Upstream{Name: "good", URL: srv.URL + "/good.onnx", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}, dir, func(d, _ int64) { last = d })
	if err != nil || last != int64(len(body)) {
		t.Fatalf("fetch: %v (progress %d)", err, last)
	}
	if b, _ := os.ReadFile(p); string(b) != string(body) {
		t.Fatal("content differs")
	}
	_, err = Fetch(context.Background(), nil, Upstream{Name: "bad", URL: srv.URL + "/bad.onnx", SHA256: strings.Repeat("0", 64)}, dir, nil)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad checksum: %v", err)
	}
	// No checksum: the format check catches a Git LFS pointer.
	if _, err := Fetch(context.Background(), nil, Upstream{Name: "lfs", URL: srv.URL + "/lfs.onnx"}, dir, nil); err == nil || !strings.Contains(err.Error(), "not an ONNX file") || !strings.Contains(err.Error(), `"version https`) {
		t.Fatalf("LFS pointer: %v", err)
	}
	if _, err := Fetch(context.Background(), nil, Upstream{Name: "x", URL: srv.URL + "/missing.onnx"}, dir, nil); err == nil || !strings.Contains(err.Error(), "by hand") {
		t.Fatalf("404: %v", err)
	}
	// Offline: a closed loopback port.
	_, err = Fetch(context.Background(), nil, Upstream{Name: "candy", URL: "http://127.0.0.1:1/candy-9.onnx"}, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "by hand") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("offline: %v", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Fatalf("left behind: %v", es)
	}
	// A folder to make: not made when the download fails.
	sub := filepath.Join(dir, "new", "models")
	if _, err := Fetch(context.Background(), nil, Upstream{Name: "candy", URL: "http://127.0.0.1:1/candy-9.onnx"}, sub, nil); err == nil {
		t.Fatal("offline fetch into a new folder: no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Fatal("failed fetch left new folders behind")
	}
	if _, err := Fetch(context.Background(), nil, Upstream{Name: "good", URL: srv.URL + "/good.onnx"}, sub, nil); err != nil {
		t.Fatalf("fetch into a new folder: %v", err)
	}
}

// A catalogue style found nowhere points at models fetch.
func TestResolveSuggestsFetch(t *testing.T) {
	_, err := Resolve("candy", []string{t.TempDir()})
	if !errors.Is(err, ErrUnknown) || !errors.Is(err, ErrNotFetched) || !strings.HasPrefix(err.Error(), `models: unknown style "candy": looked in `) || !strings.Contains(err.Error(), "vidnst models fetch candy") {
		t.Fatalf("candy nowhere: %v", err)
	}
	if _, err := Resolve("nosuch", []string{t.TempDir()}); !errors.Is(err, ErrUnknown) || errors.Is(err, ErrNotFetched) || strings.Contains(err.Error(), "fetch") {
		t.Fatalf("nosuch: %v", err)
	}
}
