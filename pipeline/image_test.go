package pipeline

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// SaveImage writes the image whole, or, when its context ends before or
// while it encodes (a signal), nothing: no file, no temporary file.
func TestSaveImageCanceled(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7) // not all one colour: several writes
	}
	if err := SaveImage(context.Background(), filepath.Join(dir, "a.png"), img, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"b.png", "b.jpg"} {
		if err := SaveImage(ctx, filepath.Join(dir, name), img, false); !errors.Is(err, context.Canceled) {
			t.Errorf("%s after cancel: %v", name, err)
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 || es[0].Name() != "a.png" {
		t.Fatalf("files: %v", es)
	}
	// A signal just after the file is in place: it was written, and says so
	// (it said canceled, and the command "nothing was written").
	c := afterFile{context.Background(), filepath.Join(dir, "c.png")}
	if err := SaveImage(c, c.path, img, false); err != nil {
		t.Fatalf("canceled after the write: %v", err)
	}
}

// afterFile is a context that ends once path exists.
type afterFile struct {
	context.Context
	path string
}

func (c afterFile) Err() error {
	if _, err := os.Stat(c.path); err == nil {
		return context.Canceled
	}
	return nil
}
