package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	xdraw "golang.org/x/image/draw"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/encode"
	"github.com/vidnst/vidnst/internal/frame"
	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/stylize"
)

// grabFrame decodes the first frame at or after sec (seconds from the
// start) at the processing size (deinterlaced where deint); transparent as
// grabFrameAt.
func grabFrame(ctx context.Context, in string, info *decode.Info, sec float64, w, h int, deint bool) (f *frame.Frame, transparent bool, err error) {
	x, err := decode.ReadIndex(in)
	if err != nil {
		return nil, false, err
	}
	i := frameAt(x, info, sec)
	if i >= len(x.PTS) {
		return nil, false, fmt.Errorf("%s: no frame at %.3fs (the video is %.3fs long): %w", in, sec, info.Duration, decode.ErrOutOfRange)
	}
	return grabFrameAt(ctx, in, x, i, w, h, deint)
}

// grabFrameAt decodes frame i of x, the index of in, at the processing size
// (deinterlaced where deint). transparent: the first frame decoded was
// partly transparent (decode.Reader.Transparent), its alpha dropped.
func grabFrameAt(ctx context.Context, in string, x *decode.Index, i, w, h int, deint bool) (f *frame.Frame, transparent bool, err error) {
	r, err := decode.Open(in, decode.Options{Width: w, Height: h, Ranged: true, StartPTS: x.PTS[i], Index: x, Deinterlace: deint})
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	f = frame.New(w, h)
	if err := r.Next(ctx, f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false, fmt.Errorf("%s: no frame %d", in, i)
		}
		return nil, false, err
	}
	return f, r.Transparent(), nil
}

func fmtTS(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	h, m := int(d.Hours()), int(d.Minutes())%60
	s := d.Seconds() - float64(h*3600+m*60)
	return fmt.Sprintf("%02d:%02d:%06.3f", h, m, s)
}

func newPreviewCmd(stdout, stderr io.Writer) *cobra.Command {
	ro := defaultRenderOpts()
	var ats []string
	var output string
	var sideBySide bool
	c := &cobra.Command{
		Use:   "preview INPUT --style A [--style B ...] --at T [--at T ...] -o sheet.png | preview INPUT --style A --start T --duration D -o clip.mp4 --side-by-side",
		Short: "A contact sheet of styles at chosen times, or a side-by-side clip",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			styles := ro.styles
			if output == "" {
				return usagef("preview needs -o OUTPUT")
			}
			if len(styles) == 0 {
				return usagef("preview needs at least one --style")
			}
			if err := outfile.Check(output, ro.force, args[0]); err != nil {
				return err
			}
			if sideBySide {
				if len(styles) != 1 {
					return usagef("--side-by-side takes one --style")
				}
				if len(ats) > 0 {
					return usagef("--at is for the contact sheet; give --side-by-side its range with --start, --end, --duration or --frames")
				}
				if ro.duration == "" && ro.end == "" && ro.frames == "" {
					ro.duration = "3"
				}
				return sideBySideCmd(cmd.Context(), ro, args[0], output, stdout, stderr)
			}
			if !pipeline.IsImagePath(output) {
				return usagef("the sheet is written as .png or .jpg, not %q (add --side-by-side for a clip)", filepath.Ext(output))
			}
			if err := notFor(cmd, "the contact sheet is a still (its rows' times come from --at)", videoOnlyFlags...); err != nil {
				return err
			}
			if len(ats) == 0 {
				ats = []string{"0"}
			}
			return sheetCmd(cmd.Context(), ro, args[0], styles, ats, output, stdout, stderr)
		},
	}
	ro.addFlags(c)
	c.Flags().StringArrayVar(&ats, "at", nil, "time of a row (seconds, hh:mm:ss.mmm or Nf; repeatable)")
	c.Flags().StringVarP(&output, "output", "o", "", "sheet (.png/.jpg) or clip (.mp4, ...) to write")
	c.Flags().BoolVar(&sideBySide, "side-by-side", false, "write a clip with the original and stylized frames side by side")
	return c
}

// sheetCmd renders a grid: one row per time, the original then each style.
// The caller has checked that out is an image path.
func sheetCmd(ctx context.Context, ro *renderOpts, in string, styles, ats []string, out string, stdout, stderr io.Writer) error {
	if err := ro.check(""); err != nil {
		return err
	}
	info, err := decode.Probe(in)
	if err != nil {
		return err
	}
	maxSide := ro.maxSide
	if maxSide == 0 && ro.width == 0 && ro.height == 0 {
		maxSide = 320
	}
	w, h := pipeline.ProcessingSize(info.SquareWidth, info.SquareHeight, maxSide, ro.width, ro.height)
	var paths []string
	for _, s := range styles {
		p, err := resolveStyle(ro, s, stderr)
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	x, err := decode.ReadIndex(in)
	if err != nil {
		return err
	}
	if len(x.PTS) == 0 {
		return fmt.Errorf("%s: no video frames", in)
	}
	var frames []*frame.Frame
	var secs []float64
	seen := map[int]bool{} // frame numbers already on the sheet
	for _, a := range ats {
		ts, err := parseTimeSpec("at", a)
		if err != nil {
			return err
		}
		k := ts.n
		if !ts.frames {
			// The first frame at or after the time; the last one for a time
			// within its display (after its start, before the end).
			k = frameAt(x, info, ts.sec)
			if last := len(x.PTS) - 1; k == len(x.PTS) && info.StartPTS+info.PTS(ts.sec) < x.PTS[last]+max(1, info.FrameDurationTB()) {
				k = last // within the last frame's display
			}
		}
		if k >= len(x.PTS) {
			return fmt.Errorf("--at %s: the video has %s (%.3fs): %w", a, count(len(x.PTS), "frame"), info.Duration, decode.ErrOutOfRange)
		}
		if seen[k] {
			continue // the same frame twice: one row
		}
		seen[k] = true
		sec := info.Seconds(x.PTS[k] - info.StartPTS) // the caption shows the frame's own time
		f, _, err := grabFrameAt(ctx, in, x, k, w, h, ro.deinterlaces(info))
		if err != nil {
			return err
		}
		frames, secs = append(frames, f), append(secs, sec)
	}
	sheet := pipeline.NewSheet(len(frames), 1+len(paths), w, h)
	for r, f := range frames {
		sheet.Put(r, 0, f.In, "original "+fmtTS(secs[r]))
	}
	if err := stylize.Init(ro.ortLib); err != nil {
		return err
	}
	for c, p := range paths {
		s, err := stylize.New(p, stylize.Options{Width: w, Height: h, Batch: 1, Threads: ro.threads, Device: ro.device, Parallel: 1})
		if err != nil {
			return err
		}
		if c == 0 {
			sayDevice(ro, s, stderr)
		}
		for r, f := range frames {
			if err := runFrame(ctx, s, f); err != nil {
				s.Close()
				return err
			}
			if ro.strength < 1 || ro.preserveColor {
				applyControls(f.In, f.Out, w*h, float32(ro.strength), ro.preserveColor)
			}
			sheet.Put(r, c+1, f.Out, models.StyleName(p)+" "+fmtTS(secs[r]))
		}
		s.Close()
	}
	if err := pipeline.SaveImage(ctx, out, sheet.Img, ro.force); err != nil {
		return err
	}
	if !ro.quiet {
		b := sheet.Img.Bounds()
		fmt.Fprintf(stdout, "vidnst: sheet %dx%d (%s x %d tiles of %dx%d) -> %s\n", b.Dx(), b.Dy(), count(len(frames), "row"), 1+len(paths), w, h, out)
	}
	return nil
}

// sideBySide is a Sink that writes the original and the stylized frame
// next to each other.
type sideBySide struct {
	w   *encode.Writer
	buf *frame.Frame // 2W x H, allocated once
}

func (s *sideBySide) Write(f *frame.Frame) error {
	W, H := f.W, f.H
	n, n2 := W*H, 2*W*H
	for c := 0; c < 3; c++ {
		for y := 0; y < H; y++ {
			dst := s.buf.Out[c*n2+y*2*W : c*n2+(y+1)*2*W]
			copy(dst[:W], f.In[c*n+y*W:c*n+(y+1)*W])
			copy(dst[W:], f.Out[c*n+y*W:c*n+(y+1)*W])
		}
	}
	s.buf.PTS, s.buf.Duration = f.PTS, f.Duration
	return s.w.Write(s.buf)
}

func sideBySideCmd(ctx context.Context, o *renderOpts, in, out string, stdout, stderr io.Writer) error {
	if pipeline.IsImagePath(out) {
		return usagef("--side-by-side writes a clip (.mp4, .mkv, ...), not %s: a sheet is written without it", filepath.Ext(out))
	}
	j, err := prepare(o, in, out, stderr)
	if err != nil {
		return err
	}
	// Both halves at the processing size.
	j.ow, j.oh = 2*j.w, j.h
	j.sideBySide = true
	st, err := j.run(ctx, stderr)
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(stdout, "vidnst: %s side by side in %s -> %s\n", count(st.frames, "frame"), st.elapsed.Round(time.Millisecond), out)
	}
	return nil
}

// stillCmd stylizes one image (or the first frame of an input) into an
// image file at the input's size (or the processing size).
func stillCmd(ctx context.Context, o *renderOpts, j *job, stdout, stderr io.Writer) error {
	t0 := time.Now()
	sess, err := openStyler(o, j.model, j.w, j.h, true, stderr)
	if err != nil {
		return err
	}
	defer sess.Close()
	// A video's frame at --start (or --frames A), from the range's index;
	// else its first.
	var f *frame.Frame
	var transparent bool
	if j.rng.set {
		f, transparent, err = grabFrameAt(ctx, j.in, j.rng.index, j.rng.first, j.w, j.h, j.deint)
	} else {
		f, transparent, err = grabFrame(ctx, j.in, j.info, 0, j.w, j.h, j.deint)
	}
	if err != nil {
		return err
	}
	if err := runFrame(ctx, sess, f); err != nil {
		return err
	}
	if o.strength < 1 || o.preserveColor {
		applyControls(f.In, f.Out, j.w*j.h, float32(o.strength), o.preserveColor)
	}
	if err := pipeline.SaveImage(ctx, j.out, stillImage(f.Out, j.w, j.h, j.ow, j.oh), o.force); err != nil {
		return err
	}
	if !o.quiet {
		if transparent {
			fmt.Fprintln(stderr, transparentNote(j.in))
		}
		fmt.Fprintf(stdout, "vidnst: 1 frame in %s -> %s\n", time.Since(t0).Round(time.Millisecond), j.out)
	}
	return nil
}

// runFrame stylizes f (f.In into f.Out) with s, one frame, and stops the
// network mid-frame when ctx ends (SIGINT, SIGTERM), returning ctx's
// error: a 12 MP still takes half a minute on two cores, and it used to
// finish, and be written, after the signal. After that s runs nothing.
func runFrame(ctx context.Context, s *stylize.Session, f *frame.Frame) error {
	stop := context.AfterFunc(ctx, s.Cancel)
	err := s.Run([][]float32{f.In}, [][]float32{f.Out})
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// stillImage is the stylized planar frame out (w x h) as an image of
// ow x oh (scaled with Catmull-Rom when the sizes differ).
func stillImage(out []float32, w, h, ow, oh int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	pipeline.ToRGBA(img, out, w, h)
	if ow == w && oh == h {
		return img
	}
	big := image.NewRGBA(image.Rect(0, 0, ow, oh))
	xdraw.CatmullRom.Scale(big, big.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return big
}

var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".webp": true, ".bmp": true, ".tif": true, ".tiff": true}

func newImagesCmd(stdout, stderr io.Writer) *cobra.Command {
	ro := defaultRenderOpts()
	var outDir, format string
	c := &cobra.Command{
		Use:   "images DIR --style A [--style B ...] -o OUTDIR",
		Short: "Stylize every image in a folder with each style (done ones are skipped)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" || len(ro.styles) == 0 {
				return usagef("images needs --style and -o OUTDIR")
			}
			if err := notFor(cmd, "images writes stills", videoOnlyFlags...); err != nil {
				return err
			}
			return imagesCmd(cmd.Context(), ro, args[0], ro.styles, outDir, format, stdout, stderr)
		},
	}
	ro.addFlags(c)
	hideFlags(c, videoOnlyFlags...) // refused: images writes stills
	c.Flags().Lookup("force").Usage = "redo outputs already in OUTDIR"
	c.Flags().StringVarP(&outDir, "output", "o", "", "output folder (created if missing)")
	c.Flags().StringVar(&format, "format", "png", "output format: png or jpg")
	return c
}

func imagesCmd(ctx context.Context, ro *renderOpts, dir string, styles []string, outDir, format string, stdout, stderr io.Writer) error {
	if format != "png" && format != "jpg" {
		return usagef("--format %q: want png or jpg", format)
	}
	if err := ro.check(""); err != nil {
		return err
	}
	if ro.outputSize != "input" && ro.outputSize != "processing" {
		return usagef("--output-size %q: want input or processing", ro.outputSize)
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	var files []string
	for _, e := range es {
		if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("images: no images (.png, .jpg, .webp, ...) in %s", dir)
	}
	if outfile.SameFile(dir, outDir) {
		return usagef("images: -o %s is the input folder: give another (a second run would take the outputs as inputs)", outDir)
	}
	var paths []string
	byName := map[string]string{} // style name -> model path
	for _, s := range styles {
		p, err := resolveStyle(ro, s, stderr)
		if err != nil {
			return err
		}
		n := models.StyleName(p)
		if q, ok := byName[n]; ok {
			if outfile.SameFile(p, q) {
				continue // the same style twice
			}
			return usagef("images: styles %s and %s would both write NAME-%s.%s", q, p, n, format)
		}
		byName[n] = p
		paths = append(paths, p)
	}
	// Inputs whose names differ only in extension (a.png, a.jpg) would
	// write the same outputs: the first (in name order) gets them, the
	// others are reported and skipped.
	first := map[string]string{}
	// The folders made here are removed again if nothing goes in them.
	var made []string // deepest first
	for d := filepath.Clean(outDir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	defer func() {
		for _, d := range made {
			if os.Remove(d) != nil { // not empty
				return
			}
		}
	}()
	if err := stylize.Init(ro.ortLib); err != nil {
		return err
	}
	mode, _ := pipeline.ParseProgress(ro.progress, isTerminal(stderr))
	if ro.quiet {
		mode = pipeline.ProgressNone
	}
	rep := pipeline.NewReporter(mode, stderr, len(files)*len(paths))
	// Sessions are built per (style, size) and kept: folders of same-size
	// images reuse them.
	type key struct {
		model string
		w, h  int
	}
	sessions := map[key]*stylize.Session{}
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	done, skipped, failed, wrote := 0, 0, 0, 0
	// pass counts n outputs as done without work (already there, or
	// skipped): in the progress, not in its rate.
	pass := func(n int) {
		done += n
		rep.Skip(n)
		rep.Update(done)
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		if g, ok := first[base]; ok {
			fmt.Fprintf(stderr, "vidnst: skipping %s: %s writes the same output names (%s-STYLE.%s); rename one\n", f, g, base, format)
			failed++
			pass(len(paths))
			continue
		}
		first[base] = f
		type styleOut struct{ model, name string }
		var todo []styleOut
		long := false
		for _, p := range paths {
			name := base + "-" + models.StyleName(p) + "." + format
			if len(name) > outfile.MaxName { // this image's name, not the command: skip it
				fmt.Fprintf(stderr, "vidnst: skipping %s: its output name %s is too long (%d bytes; file systems allow %d)\n", f, name, len(name), outfile.MaxName)
				long = true
				pass(1)
				continue
			}
			if _, err := os.Stat(filepath.Join(outDir, name)); err == nil && !ro.force {
				skipped++
				pass(1)
				continue
			}
			todo = append(todo, styleOut{p, name})
		}
		if long {
			failed++
		}
		if len(todo) == 0 {
			continue
		}
		info, err := decode.Probe(f)
		var fr *frame.Frame
		var w, h int
		if err == nil {
			w, h, err = ro.size(info)
		}
		if err == nil {
			fr, _, err = grabFrame(ctx, f, info, 0, w, h, ro.deinterlaces(info))
		}
		if ctx.Err() != nil {
			return interrupted(ctx.Err(), wrote)
		}
		if err != nil {
			fmt.Fprintf(stderr, "vidnst: skipping %s: %s\n", f, strings.TrimPrefix(err.Error(), f+": "))
			failed++
			pass(len(todo))
			continue
		}
		tooSmall := false // for one of the styles
		for _, t := range todo {
			p := t.model
			k := key{p, w, h}
			s := sessions[k]
			if s == nil {
				if s, err = stylize.New(p, stylize.Options{Width: w, Height: h, Batch: 1, Threads: ro.threads, Device: ro.device, Parallel: 1}); err != nil {
					return err
				}
				if len(sessions) == 0 {
					sayDevice(ro, s, stderr)
				}
				sessions[k] = s
			}
			if err := runFrame(ctx, s, fr); errors.Is(err, stylize.ErrTooSmall) {
				// This image's size, not the command: skip it, as an
				// unreadable one.
				fmt.Fprintf(stderr, "vidnst: skipping %s: %dx%d is too small for %s\n", f, w, h, models.StyleName(p))
				tooSmall = true
				pass(1)
				continue
			} else if err != nil {
				if ctx.Err() != nil {
					return interrupted(err, wrote)
				}
				return err
			}
			if ro.strength < 1 || ro.preserveColor {
				applyControls(fr.In, fr.Out, w*h, float32(ro.strength), ro.preserveColor)
			}
			ow, oh := outSize(info, w, h, ro.outputSize, true)
			if err := pipeline.SaveImage(ctx, filepath.Join(outDir, t.name), stillImage(fr.Out, w, h, ow, oh), ro.force); err != nil {
				if ctx.Err() != nil {
					return interrupted(ctx.Err(), wrote) // this one was not written
				}
				return err
			}
			wrote++
			done++
			rep.Update(done)
		}
		if tooSmall {
			failed++
		}
		if err := ctx.Err(); err != nil {
			return interrupted(err, wrote)
		}
	}
	rep.Done(done)
	if !ro.quiet {
		skippedNote := ""
		if failed > 0 {
			skippedNote = fmt.Sprintf(", %s skipped (see above)", count(failed, "input"))
		}
		fmt.Fprintf(stdout, "vidnst: %s written, %d already done%s -> %s\n", count(wrote, "image"), skipped, skippedNote, outDir)
	}
	if wrote == 0 && skipped == 0 && failed > 0 {
		// Nothing done at all: a failure, as for a render (see above).
		return fmt.Errorf("no image written: every input was skipped")
	}
	return nil
}
