// Command vidnst applies neural style transfer to video:
//
//	vidnst in.mp4 out.mp4 --style candy
//
// See README.md for the flags and subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vidnst/vidnst/decode"
	"github.com/vidnst/vidnst/encode"
	"github.com/vidnst/vidnst/internal/farm"
	"github.com/vidnst/vidnst/internal/outfile"
	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/stylize"
)

func main() {
	// SIGHUP (a closed terminal or ssh session) and SIGPIPE (stdout or
	// stderr piped into a reader that quit, as in `vidnst ... 2>&1 | head`)
	// end a render like Ctrl-C: cleanly, leaving no partial output. Without
	// them Go's default handling kills the process on the spot.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks a command-line mistake (exit 2).
var errUsage = errors.New("usage")

// run executes one vidnst command line and returns the exit code: 0 on
// success, 1 on failure, 2 for bad usage, 130 when interrupted.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	msg := err.Error()
	// One line: the first line of the error.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		var k *keptError
		if errors.As(err, &k) {
			fmt.Fprintf(stderr, "vidnst: interrupted; %s\n", k.kept)
		} else {
			fmt.Fprintln(stderr, "vidnst: interrupted; nothing was written")
		}
		return 130
	case isUsage(err):
		fmt.Fprintf(stderr, "vidnst: %s\n", strings.TrimPrefix(msg, "usage: "))
		return 2
	}
	fmt.Fprintf(stderr, "vidnst: %s\n", msg)
	return 1
}

// keptError is an interruption (err) after which outputs finished before
// it were kept, each whole; kept says which.
type keptError struct {
	err  error
	kept string
}

func (e *keptError) Error() string { return e.err.Error() }
func (e *keptError) Unwrap() error { return e.err }

// interrupted is err, saying that n images written before it were kept.
func interrupted(err error, n int) error {
	if n == 0 {
		return err
	}
	return &keptError{err: err, kept: fmt.Sprintf("the %s written before it %s kept", count(n, "image"), map[bool]string{true: "is", false: "are"}[n == 1])}
}

// isUsage reports whether err is a command-line mistake (exit 2): ours,
// cobra's, or a flag value a stage refused.
func isUsage(err error) bool {
	// Not encode.ErrUnknownCodec and the like: a build of FFmpeg without
	// libx264 is no command-line mistake (checkEncoder marks the ones that
	// are).
	if errors.Is(err, models.ErrNotFetched) {
		return false // a style to download, not a mistyped name
	}
	// A container that cannot hold the codec is the output name's (or
	// --codec's) mistake, also with the default codec (out.gif).
	for _, e := range []error{errUsage, models.ErrNoStyle, models.ErrUnknown, outfile.ErrOutput, farm.ErrOptions, encode.ErrUnknownContainer, encode.ErrCodecContainer, stylize.ErrOptions, stylize.ErrTooSmall, decode.ErrOutOfRange} {
		if errors.Is(err, e) {
			return true
		}
	}
	return isCobraUsage(err)
}

func isCobraUsage(err error) bool {
	m := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "unknown command", "required flag"} {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

func usagef(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// count is "1 frame", "2 frames".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// checkEncoder is encode.Validate for an output path, a usage error when
// the user chose the codec or pixel format that fails.
func checkEncoder(o *renderOpts, out string) error {
	if err := encode.ValidateAudio(out, o.audio); err != nil {
		return err
	}
	err := encode.Validate(out, o.codec, o.pixFmt)
	codecGiven := o.codec != "" && err != nil
	pixFmtGiven := o.pixFmt != defaultRenderOpts().pixFmt && errors.Is(err, encode.ErrPixFmt)
	if codecGiven || pixFmtGiven {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return err
}

// notFor refuses the flags among names that cmd was given: render flags a
// subcommand lists (they share one flag set) but has no use for.
func notFor(cmd *cobra.Command, why string, names ...string) error {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return usagef("--%s does not apply: %s", n, why)
		}
	}
	return nil
}

// rangeFlags select part of the input.
var rangeFlags = []string{"start", "end", "duration", "frames"}

// videoOnlyFlags are the render flags that only mean something for a video
// output.
var videoOnlyFlags = append([]string{"codec", "crf", "preset", "pix-fmt", "audio",
	"temporal", "temporal-weight", "flow-preset", "batch", "hwaccel"}, rangeFlags...)

// hideFlags keeps render flags a subcommand refuses out of its help.
func hideFlags(c *cobra.Command, names ...string) {
	for _, n := range names {
		_ = c.Flags().MarkHidden(n)
	}
}

// groupOnly makes c (a command that only groups subcommands) fail as a
// usage error when run without one, or with one it does not have (cobra
// would print the help and exit 0).
func groupOnly(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var subs []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				subs = append(subs, s.Name())
			}
		}
		if len(args) == 0 {
			return usagef("%s needs a command: %s", cmd.Name(), strings.Join(subs, ", "))
		}
		return usagef("unknown command %q for %s: want %s", args[0], cmd.Name(), strings.Join(subs, ", "))
	}
	return c
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	ro := defaultRenderOpts()
	root := &cobra.Command{
		Use:   "vidnst INPUT OUTPUT --style NAME|FILE.onnx",
		Short: "Neural style transfer for video",
		Long: `vidnst stylizes every frame of a video with a feed-forward ONNX style network,
keeps the output temporally stable with optical flow, and writes a file with
the input's audio, timing, orientation and colour.`,
		Args: func(cmd *cobra.Command, args []string) error {
			// A mistyped command (vidnst modles list) is not an INPUT.
			if len(args) > 0 {
				if _, err := os.Stat(args[0]); err != nil {
					if sug := cmd.SuggestionsFor(args[0]); len(sug) > 0 {
						return usagef("unknown command %q (did you mean %s?)", args[0], sug[0])
					}
				}
			}
			if len(args) != 2 {
				return usagef("need INPUT and OUTPUT, got %d path(s): vidnst INPUT OUTPUT --style NAME (see vidnst --help)", len(args))
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return renderCmd(cmd, ro, args[0], args[1], stdout, stderr)
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SuggestionsMinimumDistance = 2
	ro.addFlags(root)

	renderSub := &cobra.Command{
		Use:   "render INPUT OUTPUT --style NAME | render --plan plan.json --chunk I",
		Short: "Stylize a video (same as the root command), or one chunk of a farm plan",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return renderSubCmd(cmd, ro, args, stdout, stderr)
		},
	}
	ro.addFlags(renderSub)
	addChunkFlags(renderSub)
	root.AddCommand(renderSub, newModelsCmd(stdout, stderr))
	addExtraCommands(root, stdout, stderr)
	decimalInts(root)
	return root
}

// decimalInts makes every integer flag of cmd and its subcommands read
// base 10, leading zeros and all: pflag reads 0100 as octal (--max-side
// 0100 ran at 64) and 0x10 as hexadecimal.
func decimalInts(cmd *cobra.Command) {
	fix := func(f *pflag.Flag) {
		switch f.Value.Type() {
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
			if _, done := f.Value.(decimalValue); !done {
				f.Value = decimalValue{f.Value}
			}
		}
	}
	cmd.Flags().VisitAll(fix)
	cmd.PersistentFlags().VisitAll(fix)
	for _, c := range cmd.Commands() {
		decimalInts(c)
	}
}

// decimalValue is an integer flag that takes only decimal digits, with an
// optional sign, and hands the number to its own Set without leading zeros.
type decimalValue struct{ pflag.Value }

func (d decimalValue) Set(s string) error {
	t, sign := strings.TrimSpace(s), ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if t = strings.TrimLeft(t, "0"); t == "" {
		t = "0"
	}
	return d.Value.Set(sign + t)
}
