// Command gen writes one of internal/onnxgen's tiny test graphs to a file,
// for benchmarks that need a network whose cost is next to nothing (to
// measure the rest of the pipeline):
//
//	go run ./internal/onnxgen/gen -kind affine -o /tmp/affine.onnx
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vidnst/vidnst/internal/onnxgen"
)

func main() {
	kind := flag.String("kind", "affine", "graph: identity, affine (0.9x+10), invert or spatial")
	out := flag.String("o", "", "output .onnx file")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o FILE is required")
		os.Exit(2)
	}
	var err error
	switch *kind {
	case "identity":
		err = onnxgen.Identity(*out)
	case "affine":
		err = onnxgen.Affine(*out, 0.9, 10)
	case "invert":
		err = onnxgen.Invert(*out)
	case "spatial":
		err = onnxgen.Spatial(*out)
	default:
		err = fmt.Errorf("unknown kind %q", *kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
