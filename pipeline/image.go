package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/internal/pix"
)

// ToRGBA writes planar RGB float32 (w x h, clamped and rounded) into dst,
// which must be w x h.
func ToRGBA(dst *image.RGBA, planar []float32, w, h int) {
	n := w * h
	r, g, b := planar[:n:n], planar[n:2*n:2*n], planar[2*n:3*n:3*n]
	for y := 0; y < h; y++ {
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*w : y*dst.Stride+4*w]
		o := y * w
		for x := 0; x < w; x++ {
			row[4*x] = pix.Byte(r[o+x])
			row[4*x+1] = pix.Byte(g[o+x])
			row[4*x+2] = pix.Byte(b[o+x])
			row[4*x+3] = 255
		}
	}
}

// IsImagePath reports whether path names a still image output.
func IsImagePath(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// SaveImage writes img as PNG or JPEG (by extension) through a temporary
// file and a rename (internal/outfile); without force it refuses to
// replace a file.
//
// When ctx ends (a signal) while the image is being encoded, the encoding
// stops, nothing is put in place, and ctx's error is returned.
func SaveImage(ctx context.Context, path string, img image.Image, force bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := outfile.Check(path, force); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
		return fmt.Errorf("pipeline: %s: images are written as .png or .jpg", path)
	}
	err := outfile.WriteContext(ctx, path, force, func(w io.Writer) error {
		if ext == ".png" {
			return png.Encode(w, img)
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: 92})
	})
	if err != nil && errors.Is(err, ctx.Err()) {
		return err // stopped: nothing put in place
	}
	if err != nil {
		return fmt.Errorf("pipeline: write %s: %w", path, err)
	}
	return nil
}

// Sheet lays out labelled tiles in a grid: rows x cols tiles of tw x th,
// each with a caption strip under it.
type Sheet struct {
	Rows, Cols int
	TW, TH     int
	Img        *image.RGBA
	capH       int // caption strip height: one line, or two for narrow tiles
}

// Sheet geometry: the caption font is 7x13; tiles narrower than
// sheetOneLine characters (a style name and a timestamp) get two lines.
const (
	sheetGap     = 8
	sheetLine    = 13
	sheetOneLine = 24
)

// NewSheet makes an empty sheet (dark background).
func NewSheet(rows, cols, tw, th int) *Sheet {
	capH := 5 + sheetLine
	if tw/7 < sheetOneLine {
		capH += sheetLine
	}
	w := cols*tw + (cols+1)*sheetGap
	h := rows*(th+capH) + (rows+1)*sheetGap
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{24, 24, 24, 255}}, image.Point{}, draw.Src)
	return &Sheet{Rows: rows, Cols: cols, TW: tw, TH: th, Img: img, capH: capH}
}

// TileRect is where tile (r, c)'s picture goes.
func (s *Sheet) TileRect(r, c int) image.Rectangle {
	x := sheetGap + c*(s.TW+sheetGap)
	y := sheetGap + r*(s.TH+s.capH+sheetGap)
	return image.Rect(x, y, x+s.TW, y+s.TH)
}

// Put draws planar RGB (tw x th) into tile (r, c) with a caption (on two
// lines, split at its last space, where the tile is narrow; cut with "~"
// where even a line is too long).
func (s *Sheet) Put(r, c int, planar []float32, caption string) {
	rect := s.TileRect(r, c)
	sub := s.Img.SubImage(rect).(*image.RGBA)
	tile := &image.RGBA{Pix: sub.Pix, Stride: sub.Stride, Rect: image.Rect(0, 0, s.TW, s.TH)}
	ToRGBA(tile, planar, s.TW, s.TH)
	max := s.TW / 7
	lines := []string{caption}
	if i := strings.LastIndexByte(caption, ' '); len(caption) > max && i > 0 && s.capH > 5+sheetLine {
		lines = []string{caption[:i], caption[i+1:]}
	}
	for k, l := range lines {
		if len(l) > max && max > 1 {
			l = l[:max-1] + "~"
		}
		d := &font.Drawer{Dst: s.Img, Src: image.NewUniform(color.RGBA{230, 230, 230, 255}), Face: basicfont.Face7x13,
			Dot: fixed.P(rect.Min.X+2, rect.Max.Y+sheetLine*(k+1))}
		d.DrawString(l)
	}
}
