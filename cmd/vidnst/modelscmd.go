package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/pipeline"
	"github.com/vidnst/vidnst/stylize"
)

func newModelsCmd(stdout, stderr io.Writer) *cobra.Command {
	var dir, ortLib string
	c := groupOnly(&cobra.Command{Use: "models", Short: "List, inspect and fetch style models"})
	c.PersistentFlags().StringVar(&dir, "models-dir", "", "folder of style models (default $VIDNST_MODEL_DIR)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the style names found",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir != "" {
				if st, err := os.Stat(dir); err != nil || !st.IsDir() {
					return fmt.Errorf("--models-dir %s is not a folder", dir)
				}
			}
			dirs := models.Dirs(dir)
			ms := models.List(dirs)
			if len(ms) == 0 {
				fmt.Fprintf(stderr, "vidnst: no models in %v (set $VIDNST_MODEL_DIR or --models-dir)\n", dirs)
				return nil
			}
			for _, m := range ms {
				fmt.Fprintf(stdout, "%-16s %s\n", m.Name, m.Path)
			}
			return nil
		},
	}
	info := &cobra.Command{
		Use:   "info FILE|NAME",
		Short: "Print a model's inputs, outputs, shapes and value convention",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := models.Resolve(args[0], models.Dirs(dir))
			if err != nil {
				return err
			}
			if err := stylize.Init(ortLib); err != nil {
				return err
			}
			mi, err := stylize.Inspect(p)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, mi.String())
			return nil
		},
	}
	info.Flags().StringVar(&ortLib, "ort-lib", "", "path of libonnxruntime.so")
	var refetch bool
	fetch := &cobra.Command{
		Use:   "fetch NAME",
		Short: "Download one of the upstream fast-neural-style models into the cache",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, ok := models.Catalogue[args[0]]
			if !ok {
				return usagef("models fetch %q: known models: %s", args[0], strings.Join(models.CatalogueNames(), ", "))
			}
			dest := dir
			if dest == "" {
				dest = models.CacheDir()
			}
			if p := filepath.Join(dest, u.Name+".onnx"); !refetch {
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					fmt.Fprintf(stdout, "vidnst: %s is already at %s (-y fetches it again)\n", u.Name, p)
					return nil
				}
			}
			rep := pipeline.NewReporter(pipeline.ProgressBar, stderr, 0)
			if !isTerminal(stderr) {
				rep.Mode = pipeline.ProgressNone
			}
			p, err := models.Fetch(cmd.Context(), nil, u, dest, func(done, total int64) {
				if total > 0 {
					rep.Total = int(total >> 10)
				}
				rep.Update(int(done >> 10))
			})
			if err != nil {
				rep.Finish()
				return err
			}
			if st, serr := os.Stat(p); serr == nil {
				rep.Done(int(st.Size() >> 10)) // the bar at 100%, once
			} else {
				rep.Finish()
			}
			fmt.Fprintf(stdout, "vidnst: %s -> %s\n", u.Name, p)
			return nil
		},
	}
	fetch.Flags().BoolVarP(&refetch, "force", "y", false, "download again over a file already there")
	c.AddCommand(list, info, fetch)
	return c
}
