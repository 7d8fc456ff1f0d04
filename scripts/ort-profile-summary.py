#!/usr/bin/env python3
"""Summarise ONNX Runtime profile JSON files (VIDNST_ORT_PROFILE).

Usage: ort-profile-summary.py [--skip N] [--nodes K] FILE...

Skips the first N model runs of each file (default 1: the warm-up, where
cuDNN tries its algorithms), then prints the median wall time of a run, the
kernel time per operator type and execution provider, and the K nodes with
the most kernel time (default 12) with their output shapes."""
import argparse
import collections
import json
import statistics

ap = argparse.ArgumentParser()
ap.add_argument("--skip", type=int, default=1)
ap.add_argument("--nodes", type=int, default=12)
ap.add_argument("files", nargs="+")
args = ap.parse_args()

tot = collections.Counter()
count = collections.Counter()
node_us = collections.Counter()
node_info = {}
run_durs = []
for path in args.files:
    with open(path) as f:
        events = json.load(f)
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                  if e.get("cat") == "Session" and e.get("name") == "model_run")
    kept = runs[args.skip:]
    run_durs += [b - a for a, b in kept]

    def in_kept(ts):
        return any(a <= ts <= b for a, b in kept)

    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        if not in_kept(e.get("ts", 0)):
            continue
        a = e.get("args", {})
        key = (a.get("op_name", "?"), a.get("provider", "?"))
        tot[key] += e.get("dur", 0)
        count[key] += 1
        name = e["name"][: -len("_kernel_time")]
        node_us[name] += e.get("dur", 0)
        shapes = a.get("output_type_shape") or []
        node_info[name] = (a.get("op_name", "?"), json.dumps(shapes, separators=(",", ":")))

n = max(len(run_durs), 1)
all_us = sum(tot.values())
med = statistics.median(run_durs) / 1000 if run_durs else 0
print(f"{len(run_durs)} timed runs: median {med:.2f} ms wall per run, {all_us / n / 1000:.2f} ms of kernels per run")
for (op, prov), us in tot.most_common(20):
    print(f"{op:28s} {prov:26s} {us / n / 1000:8.2f} ms/run  {100 * us / max(all_us, 1):5.1f}%  ({count[(op, prov)] // n} per run)")
print(f"top {args.nodes} nodes:")
for name, us in node_us.most_common(args.nodes):
    op, shape = node_info[name]
    print(f"  {name:24s} {op:22s} {us / n / 1000:8.2f} ms/run  out {shape}")
