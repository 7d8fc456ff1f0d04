#!/usr/bin/env python3
"""Summarise ONNX Runtime profile JSON files (VIDNST_ORT_PROFILE): total
kernel time per operator type and execution provider, largest first."""
import collections
import json
import sys

tot = collections.Counter()
count = collections.Counter()
runs = 0
for path in sys.argv[1:]:
    with open(path) as f:
        events = json.load(f)
    for e in events:
        if e.get("cat") == "Session" and e.get("name") == "model_run":
            runs += 1
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        a = e.get("args", {})
        key = (a.get("op_name", "?"), a.get("provider", "?"))
        tot[key] += e.get("dur", 0)
        count[key] += 1
all_us = sum(tot.values())
print(f"{runs} runs, {all_us / max(runs, 1) / 1000:.2f} ms of kernels per run")
for (op, prov), us in tot.most_common(20):
    print(f"{op:28s} {prov:26s} {us / max(runs, 1) / 1000:8.2f} ms/run  {100 * us / max(all_us, 1):5.1f}%  ({count[(op, prov)]} calls)")
