#!/usr/bin/env python3
"""Summarizes the last decode steps of an nsys trace of bench_gpu_forward.

Usage: nsys stats --report cuda_gpu_trace --format csv --output - REP.nsys-rep \
         | scripts/decode_profile.py [STEPS]

A step starts at an embedding kernel. For the last STEPS (default 3) complete
steps it prints, per kernel name, launches per step and mean duration, then
the step's span, the summed kernel time and the summed gaps between kernels.
"""
import collections
import csv
import sys


def main():
    steps_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = []
    for row in csv.DictReader(line for line in sys.stdin if "," in line):
        name = row.get("Name", "")
        start, duration = row.get("Start (ns)"), row.get("Duration (ns)")
        if not start or not duration or "[CUDA mem" in name:
            continue
        rows.append((int(start), int(duration), name))
    rows.sort()
    starts = [i for i, (_, _, name) in enumerate(rows) if "EmbeddingKernel" in name]
    if len(starts) < steps_wanted + 1:
        print("not enough decode steps in the trace")
        return
    first, last = starts[-steps_wanted - 1], starts[-1]
    window = rows[first:last]
    per_name = collections.defaultdict(list)
    for _, duration, name in window:
        short = name.split("(")[0][:90]
        per_name[short].append(duration)
    busy = sum(d for _, d, _ in window)
    span = window[-1][0] + window[-1][1] - window[0][0]
    gaps = sum(max(0, window[i + 1][0] - (window[i][0] + window[i][1])) for i in range(len(window) - 1))
    print(f"{'kernel':90s} {'per step':>8s} {'mean us':>8s} {'us/step':>8s}")
    for name, durations in sorted(per_name.items(), key=lambda kv: -sum(kv[1])):
        print(f"{name:90s} {len(durations) / steps_wanted:8.1f} {sum(durations) / len(durations) / 1e3:8.2f} "
              f"{sum(durations) / steps_wanted / 1e3:8.1f}")
    print(f"per step: span {span / steps_wanted / 1e3:.1f} us, kernels {busy / steps_wanted / 1e3:.1f} us "
          f"(overlapping kernels count twice), gaps {gaps / steps_wanted / 1e3:.1f} us, "
          f"{len(window) / steps_wanted:.0f} kernels")


if __name__ == "__main__":
    main()
