#!/usr/bin/env python3
"""Side-by-side medians of two santa_bench_kernels builds run in the same device call (A/B of kernel versions).

    ab_compare.py --a A1.json [A2.json ...] --b B1.json [B2.json ...] [--names A B]
Prints one row per benchmark: the medians of every A run, of every B run, and B/A of the means of the runs.
"""
import argparse
import json


def load(paths):
    out = {}
    for p in paths:
        with open(p) as f:
            for b in json.load(f).get("benchmarks", []):
                if "median_us" in b:
                    out.setdefault(b["name"].replace("/iterations:40/manual_time", ""), []).append(b["median_us"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", nargs="+", required=True)
    ap.add_argument("--b", nargs="+", required=True)
    ap.add_argument("--names", nargs=2, default=["A", "B"])
    args = ap.parse_args()
    a, b = load(args.a), load(args.b)
    print(f"| benchmark | {args.names[0]} (us) | {args.names[1]} (us) | {args.names[1]}/{args.names[0]} |")
    print("|---|---|---|---|")
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name, []), b.get(name, [])
        ratio = (sum(rb) / len(rb)) / (sum(ra) / len(ra)) if ra and rb else float("nan")
        fa = " / ".join(f"{x:.1f}" for x in ra) or "-"
        fb = " / ".join(f"{x:.1f}" for x in rb) or "-"
        print(f"| {name} | {fa} | {fb} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
