#!/usr/bin/env python3
"""Where a kernel's warps stall, per source line: reads the CSV of `ncu --import R --page source --csv
--print-source cuda,sass` (or a SASS-only page) and prints the lines with the most warp-stall samples.

Usage: python3 scripts/ncu_hotspots.py page.csv [--top 40]
"""
import argparse
import csv
import re
import sys
from collections import defaultdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    with open(a.csv, newline="", errors="replace") as f:
        text = [ln for ln in f if ln.strip() and not ln.startswith("==")]
    rows = list(csv.reader(text))
    if not rows:
        print("ncu_hotspots: empty page", file=sys.stderr)
        return 1
    # The header is the first row that names a sampling column.
    hi = next((i for i, r in enumerate(rows) if any("Sampling" in c for c in r)), None)
    if hi is None:
        print("ncu_hotspots: no 'Warp Stall Sampling' column; first rows:", file=sys.stderr)
        for r in rows[:5]:
            print(r[:12], file=sys.stderr)
        return 1
    head = rows[hi]
    print("columns:", head)
    samp = [i for i, c in enumerate(head) if "Sampling" in c and "All" in c] or \
           [i for i, c in enumerate(head) if "Sampling" in c]
    si = samp[0]
    src = next((i for i, c in enumerate(head) if c.strip() in ("Source", "# Source")), 1)
    line_col = next((i for i, c in enumerate(head) if c.strip() in ("Line", "# Line", "#")), 0)
    tot = 0.0
    by = defaultdict(float)
    text_of = {}
    for r in rows[hi + 1:]:
        if len(r) <= si:
            continue
        try:
            v = float(re.sub(r"[^0-9.eE+-]", "", r[si]) or 0)
        except ValueError:
            continue
        key = r[line_col]
        by[key] += v
        text_of[key] = r[src][:110]
        tot += v
    print(f"total samples ({head[si]}): {tot:.0f}")
    for k, v in sorted(by.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"{100 * v / max(tot, 1):5.1f}%  {k:>6}  {text_of[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
