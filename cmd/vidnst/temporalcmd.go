package main

import (
	"github.com/vidnst/vidnst/pipeline"
)

const (
	defaultTemporal       = "off"
	defaultTemporalWeight = 0.8
)

// temporalStage adapts temporal/ to pipeline.Temporal.
type temporalStage interface {
	pipeline.Temporal
	AuxLen() int
}

// newTemporal builds the temporal stage for the flags (nil when off).
func newTemporal(o *renderOpts, w, h int) (temporalStage, error) {
	if o.temporal == "off" {
		return nil, nil
	}
	return nil, usagef("--temporal %q: not available yet", o.temporal)
}
