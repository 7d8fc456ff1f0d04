package stylize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Convention is how a model wants its pixels: value range, channel order,
// and which input/output to use. The zero value is not valid; use
// DefaultConvention or LoadConvention.
//
// It comes from a sidecar JSON file beside the model with the same base name
// (candy.onnx -> candy.json), all keys optional:
//
//	{"range": "0-255" | "0-1" | "-1-1", "channels": "rgb" | "bgr",
//	 "input": "input name", "output": "output name"}
//
// Unknown keys and other values are errors (ErrSidecar).
type Convention struct {
	Range    string // "0-255", "0-1" or "-1-1"
	Channels string // "rgb" or "bgr"
	Input    string // input name; "" = the model's only input
	Output   string // output name; "" = the model's only output (or "output1")
	// Sidecar is the file the convention was read from, "" for the default.
	Sidecar string
}

// DefaultConvention is the shared models' convention: RGB, 0..255, NCHW.
func DefaultConvention() Convention {
	return Convention{Range: "0-255", Channels: "rgb"}
}

// SidecarPath is the sidecar file name for a model: same dir and base name,
// extension .json.
func SidecarPath(modelPath string) string {
	return strings.TrimSuffix(modelPath, filepath.Ext(modelPath)) + ".json"
}

// sidecarFor is the sidecar a model uses: its own, or for an fp16 variant
// without one (fp16/NAME-fp16.onnx, see FP16Variant) the fp32 model's
// (NAME.json beside fp16/): the same network, the same convention.
func sidecarFor(modelPath string) string {
	p := SidecarPath(modelPath)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	dir, file := filepath.Split(modelPath)
	name := strings.TrimSuffix(file, filepath.Ext(file))
	if filepath.Base(dir) == "fp16" && strings.HasSuffix(name, "-fp16") {
		q := filepath.Join(filepath.Dir(filepath.Clean(dir)), strings.TrimSuffix(name, "-fp16")+".json")
		if _, err := os.Stat(q); err == nil {
			return q
		}
	}
	return p
}

// LoadConvention reads the model's sidecar (see sidecarFor) if there is
// one, and returns DefaultConvention otherwise.
func LoadConvention(modelPath string) (Convention, error) {
	c := DefaultConvention()
	p := sidecarFor(modelPath)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrSidecar, p, err)
	}
	var sc struct {
		Range    *string `json:"range"`
		Channels *string `json:"channels"`
		Input    *string `json:"input"`
		Output   *string `json:"output"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return c, fmt.Errorf("%w: %s: %s (known keys: range, channels, input, output)", ErrSidecar, p, oneLine(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, fmt.Errorf("%w: %s: trailing data after the JSON object", ErrSidecar, p)
	}
	c.Sidecar = p
	if sc.Range != nil {
		switch r := strings.ReplaceAll(*sc.Range, " ", ""); r {
		case "0-255", "0-1", "-1-1":
			c.Range = r
		default:
			return c, fmt.Errorf("%w: %s: range %q: want \"0-255\", \"0-1\" or \"-1-1\"", ErrSidecar, p, *sc.Range)
		}
	}
	if sc.Channels != nil {
		switch ch := strings.ToLower(*sc.Channels); ch {
		case "rgb", "bgr":
			c.Channels = ch
		default:
			return c, fmt.Errorf("%w: %s: channels %q: want \"rgb\" or \"bgr\"", ErrSidecar, p, *sc.Channels)
		}
	}
	if sc.Input != nil {
		if *sc.Input == "" {
			return c, fmt.Errorf("%w: %s: input name is empty", ErrSidecar, p)
		}
		c.Input = *sc.Input
	}
	if sc.Output != nil {
		if *sc.Output == "" {
			return c, fmt.Errorf("%w: %s: output name is empty", ErrSidecar, p)
		}
		c.Output = *sc.Output
	}
	return c, nil
}

// toModel returns a, b such that model value = pipeline value*a + b.
func (c Convention) toModel() (a, b float32) {
	switch c.Range {
	case "0-1":
		return 1.0 / 255, 0
	case "-1-1":
		return 1.0 / 127.5, -1
	}
	return 1, 0
}

// fromModel returns a, b such that pipeline value = model value*a + b.
func (c Convention) fromModel() (a, b float32) {
	switch c.Range {
	case "0-1":
		return 255, 0
	case "-1-1":
		return 127.5, 127.5
	}
	return 1, 0
}

// modelChannel maps a model channel to the pipeline's RGB channel.
func (c Convention) modelChannel(mc int) int {
	if c.Channels == "bgr" {
		return 2 - mc
	}
	return mc
}

// String is e.g. "RGB, 0..255, NCHW (default)".
func (c Convention) String() string {
	r := map[string]string{"0-255": "0..255", "0-1": "0..1", "-1-1": "-1..1"}[c.Range]
	s := fmt.Sprintf("%s, %s, NCHW", strings.ToUpper(c.Channels), r)
	if c.Sidecar == "" {
		return s + " (default)"
	}
	return s + " (from " + c.Sidecar + ")"
}
