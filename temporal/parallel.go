package temporal

import "github.com/vidnst/vidnst/internal/par"

// runner is the row-band worker pool all of the stage's and the flow's
// kernels run on.
type runner = par.Runner

func newRunner(workers int) runner { return par.New(workers) }
