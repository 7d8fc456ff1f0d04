package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vidnst/vidnst/stylize"
)

type chunkFlags struct {
	plan   string
	chunk  int
	outDir string
}

var chunkOpts = map[*cobra.Command]*chunkFlags{}

func addChunkFlags(c *cobra.Command) {
	cf := &chunkFlags{chunk: -1}
	c.Flags().StringVar(&cf.plan, "plan", "", "render one chunk of this farm plan")
	c.Flags().Var(unsetInt{&cf.chunk}, "chunk", "chunk index (with --plan)")
	c.Flags().StringVar(&cf.outDir, "out-dir", "", "folder for the chunk file (default: beside the plan)")
	chunkOpts[c] = cf
}

// chunkFlagsAllowed are the flags render --plan takes besides its own: where
// and how this node runs the network, and what it prints. Everything that
// shapes the pixels comes from the plan, the same for every chunk.
var chunkFlagsAllowed = map[string]bool{"plan": true, "chunk": true, "out-dir": true, "device": true, "batch": true,
	"hwaccel": true, "threads": true, "ort-lib": true, "progress": true, "quiet": true, "models-dir": true,
	"force": true} // -y: a chunk's stale file is always replaced

// checkRenderArgs refuses, when a farm's scripts are written, --render-arg
// flags every chunk's render --plan would refuse, and the ones the script
// itself gives (a second --chunk would win, and every task render it). It
// parses them with render's own flags, so values, -qy and --flag=value
// read as render will read them.
func checkRenderArgs(args []string) error {
	c := &cobra.Command{}
	ro := defaultRenderOpts()
	ro.addFlags(c)
	decimalInts(c)
	fs := c.Flags()
	fs.String("plan", "", "")
	fs.Int("chunk", 0, "")
	fs.String("out-dir", "", "")
	refuse := func(what string) error {
		return usagef("--render-arg %s: the chunk's script gives --plan and --chunk, and a chunk takes the rest from the plan (allowed: --device, --batch, --hwaccel, --threads, --ort-lib, --models-dir, --progress, --quiet, -y)", what)
	}
	if err := fs.Parse(args); err != nil {
		return refuse(strings.Join(args, " ") + " (" + err.Error() + ")")
	}
	var bad error
	fs.Visit(func(f *pflag.Flag) {
		if bad == nil && (f.Name == "plan" || f.Name == "chunk" || f.Name == "out-dir" || !chunkFlagsAllowed[f.Name]) {
			bad = refuse("--" + f.Name)
		}
	})
	if bad == nil && fs.NArg() > 0 {
		bad = refuse(fs.Arg(0))
	}
	if bad != nil {
		return bad
	}
	// The values too, as every chunk would check them (--threads 5000
	// was written into the script and failed each task).
	if err := ro.check(""); err != nil {
		return usagef("--render-arg %s", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	}
	if err := stylize.CheckDevice(ro.device); err != nil {
		return usagef("--render-arg --%s", strings.TrimPrefix(err.Error(), stylize.ErrOptions.Error()+": "))
	}
	return nil
}

func renderSubCmd(cmd *cobra.Command, ro *renderOpts, args []string, stdout, stderr io.Writer) error {
	cf := chunkOpts[cmd]
	if cf != nil && cf.plan != "" {
		if len(args) != 0 {
			return usagef("render --plan takes no INPUT/OUTPUT (they come from the plan)")
		}
		if !cmd.Flags().Changed("chunk") {
			return usagef("render --plan needs --chunk N (which chunk of the plan to render)")
		}
		var bad error
		cmd.Flags().Visit(func(f *pflag.Flag) {
			if bad == nil && !chunkFlagsAllowed[f.Name] {
				bad = usagef("render --plan: --%s comes from the plan (the same for every chunk); make a new plan to change it", f.Name)
			}
		})
		if bad != nil {
			return bad
		}
		return renderChunk(cmd.Context(), ro, cf, cmd.Flags().Changed, stdout, stderr)
	}
	if cf != nil && (cmd.Flags().Changed("chunk") || cf.outDir != "") {
		return usagef("--chunk and --out-dir go with --plan")
	}
	if len(args) != 2 {
		return usagef("render needs INPUT and OUTPUT (or --plan and --chunk)")
	}
	return renderCmd(cmd, ro, args[0], args[1], stdout, stderr)
}

func addExtraCommands(root *cobra.Command, stdout, stderr io.Writer) {
	root.AddCommand(newPreviewCmd(stdout, stderr), newImagesCmd(stdout, stderr), newBenchCmd(stdout, stderr),
		newFlowCmd(stdout, stderr), newEvalCmd(stdout, stderr),
		newPlanCmd(stdout, stderr), newMergeCmd(stdout, stderr), newFarmCmd(stdout, stderr))
}
