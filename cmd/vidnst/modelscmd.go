package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vidnst/vidnst/models"
	"github.com/vidnst/vidnst/stylize"
)

func newModelsCmd(stdout, stderr io.Writer) *cobra.Command {
	var dir, ortLib string
	c := &cobra.Command{Use: "models", Short: "List and inspect style models"}
	c.PersistentFlags().StringVar(&dir, "models-dir", "", "folder of style models (default $VIDNST_MODEL_DIR)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the style names found",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
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
	c.AddCommand(list, info)
	return c
}
