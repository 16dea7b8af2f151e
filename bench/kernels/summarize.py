#!/usr/bin/env python3
"""Tables of the kernel benchmark (santa_bench_kernels JSON) beside the torch SDPA baselines
(scripts/torch_sdpa_baseline.py CSV) measured in the same device call.

  summarize.py --bench bench.json [--torch torch.csv ...] --md summary.md --csv points.csv

"best dense" is the fastest of torch SDPA cuDNN / flash at the same (batch, n_k); speedups are
best_dense_time / kernel_time (medians of 40 cold-L2 calls). Prints the target check last.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys

NAME = re.compile(r"^(?P<kind>dense|prop_gs|prop_lr|flash|flash_ref)(/S:(?P<S>\d+))?/B:(?P<B>\d+)/n:(?P<n>\d+)"
                  r"(/chunks:(?P<chunks>\d+))?(/pf:(?P<pf>\d+))?(/v:(?P<v>\d+))?(/layout:(?P<layout>\d+))?/")


def load_bench(paths, merged_path=None):
    ctx, benches = {}, []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        ctx = ctx or data.get("context", {})
        benches += data.get("benchmarks", [])
    if merged_path:
        with open(merged_path, "w") as f:
            json.dump({"context": ctx, "benchmarks": benches}, f, indent=1)
    rows = []
    for b in benches:
        if b.get("error_occurred"):
            print(f"skipped {b['name']}: {b.get('error_message', '')}", file=sys.stderr)
            continue
        m = NAME.match(b["name"].split("/iterations")[0].split("/manual_time")[0] + "/")
        if not m:
            continue
        rows.append({
            "kind": m["kind"], "S": int(m["S"] or 0), "B": int(m["B"]), "n": int(m["n"]),
            "chunks_req": int(m["chunks"] or 0), "pf_req": int(m["pf"]) if m["pf"] else -1, "variant": int(m["v"] or 0), "layout": int(m["layout"] or 0), "median_us": b["median_us"], "mean_us": b["mean_us"],
            "bytes": b["bytes"], "tbps": b["tbps"], "frac": b["frac_read_ceiling"], "chunks": int(b["chunks"]),
            "v_rows": b["v_rows"], "samples_per_head": b.get("samples_per_head", 0.0)})
    return ctx, rows


def load_torch(paths):
    best = {}
    detail = {}
    for p in paths:
        with open(p) as f:
            for r in csv.DictReader(f):
                key = (int(r["batch"]), int(r["n_k"]))
                t = float(r["median_us"])
                detail[(r["backend"],) + key] = t
                if key not in best or t < best[key][0]:
                    best[key] = (t, r["backend"])
    return best, detail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", nargs="+", required=True, help="santa_bench_kernels JSON files")
    ap.add_argument("--merged", help="write the benchmarks of all --bench files into this one JSON")
    ap.add_argument("--torch", nargs="*", default=[])
    ap.add_argument("--md", required=True)
    ap.add_argument("--csv", required=True)
    a = ap.parse_args()
    ctx, all_rows = load_bench(a.bench, a.merged)
    # Points on other cache layouts (/layout:L: K/V placement, 6 = a paged cache) get their own table; every other
    # table is the two-allocation contiguous cache.
    rows = [r for r in all_rows if r["layout"] == 0]
    other_layouts = [r for r in all_rows if r["layout"] > 0]
    best, detail = load_torch(a.torch)
    auto = {(r["kind"], r["S"], r["B"], r["n"]): r for r in rows if r["chunks_req"] == 0 and r["pf_req"] < 0 and r["variant"] == 0}
    lines = [f"GPU: {ctx.get('gpu', '?')}, streaming-read ceiling {float(ctx.get('read_ceiling_tbps', 0)):.3f} TB/s "
             f"(16-byte loads {float(ctx.get('load_read_tbps', 0)):.3f}, bulk copies {float(ctx.get('bulk_read_tbps', 0)):.3f}), "
             f"D2D copy {float(ctx.get('copy_ceiling_tbps', 0)):.3f} TB/s (read+write), L2 flush "
             f"{int(ctx.get('l2_flush_bytes', 0)) >> 20} MiB", ""]
    lines.append("| B | n_k | torch cuDNN | torch flash | best dense | our dense (x best) | prop S=128 (x best, TB/s, % ceil) "
                 "| prop-LR S=128 (x best) | flash S=2048 (x best, TB/s, % ceil) |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    out_rows = []
    checks = []
    for (B, n) in sorted({(r["B"], r["n"]) for r in rows}):
        dense = auto.get(("dense", 0, B, n))
        tb = best.get((B, n))
        base = tb[0] if tb else (dense["median_us"] if dense else None)
        def cell(r, extra=False):
            if r is None:
                return "-"
            s = f"{r['median_us']:.1f}"
            if base:
                s += f" ({base / r['median_us']:.2f}x"
                s += f", {r['tbps']:.2f}, {100 * r['frac']:.0f}%)" if extra else ")"
            return s
        prop = auto.get(("prop_gs", 128, B, n))
        lr = auto.get(("prop_lr", 128, B, n))
        fl = auto.get(("flash", 2048, B, n))
        cud = detail.get(("torch_cudnn", B, n))
        fla = detail.get(("torch_flash", B, n))
        lines.append(f"| {B} | {n} | {cud if cud else '-'} | {fla if fla else '-'} | "
                     f"{f'{base:.1f}' if base else '-'} | {cell(dense, True)} | {cell(prop, True)} | {cell(lr)} | {cell(fl, True)} |")
        for r in rows:
            if r["B"] == B and r["n"] == n:
                out_rows.append(dict(r, best_dense_us=base or "", speedup=(base / r["median_us"]) if base else ""))
        if n == 32768 and tb:
            if dense:
                checks.append((f"dense B={B}", base / dense["median_us"], 0.95))
            if prop:
                checks.append((f"prop S=128 B={B}", base / prop["median_us"], 1.7 if B == 1 else 1.8))
            if fl:
                checks.append((f"flash S=2048 B={B}", base / fl["median_us"], 1.4))
            if B == 16:
                for nm, r in (("dense", dense), ("prop S=128", prop), ("flash S=2048", fl)):
                    if r:
                        checks.append((f"{nm} B=16 fraction of read ceiling", r["frac"], 0.8))
    lines += ["", "Other budgets (x best dense):", "", "| B | n_k | prop S=256 | prop S=1024 | flash S=256 | flash S=1024 | flash-ref S=2048 |",
              "|---|---|---|---|---|---|---|"]
    for (B, n) in sorted({(r["B"], r["n"]) for r in rows}):
        tb = best.get((B, n))
        dense = auto.get(("dense", 0, B, n))
        base = tb[0] if tb else (dense["median_us"] if dense else None)
        cells = []
        for k in (("prop_gs", 256), ("prop_gs", 1024), ("flash", 256), ("flash", 1024), ("flash_ref", 2048)):
            r = auto.get((k[0], k[1], B, n))
            cells.append("-" if r is None else f"{r['median_us']:.1f}" + (f" ({base / r['median_us']:.2f}x)" if base else ""))
        lines.append(f"| {B} | {n} | " + " | ".join(cells) + " |")
    sweep = [r for r in rows if r["chunks_req"] > 0 and r["pf_req"] < 0 and r["variant"] == 0]
    if sweep:
        lines += ["", "Split sweep at n_k = 32768 (median us; chunks = CTAs per sequence and KV head):", "",
                  "| kernel | B | " + " | ".join(str(c) for c in sorted({r['chunks_req'] for r in sweep})) + " | auto |",
                  "|---|---|" + "---|" * (len({r['chunks_req'] for r in sweep}) + 1)]
        for kind, S in (("dense", 0), ("prop_gs", 128), ("flash", 2048)):
            for B in sorted({r["B"] for r in sweep}):
                cs = []
                for c in sorted({r["chunks_req"] for r in sweep}):
                    m = [r for r in sweep if r["kind"] == kind and r["B"] == B and r["chunks_req"] == c]
                    cs.append(f"{m[0]['median_us']:.1f}" if m else "-")
                ar = auto.get((kind, S, B, 32768))
                cs.append(f"{ar['median_us']:.1f} ({ar['chunks']})" if ar else "-")
                lines.append(f"| {kind} | {B} | " + " | ".join(cs) + " |")
    var = [r for r in rows if r["variant"] > 0]
    if var:
        lines += ["", "Variants (median us). v:1 = sampling kernel compiled for 3 CTAs/SM (single-buffered K); "
                  "v:2 / v:3 = one head / several heads per warp task after the key stream (the default picks by the task count); "
                  "v:4 = CTAs ordered KV heads first; v:7 / v:8 / v:29 = dense forced to the whole-row kernel (CTA per chunk and sequence, warp per KV head, bulk copies) / the per-KV-head kernel / the whole-row kernel over equal shares of the batch (a CTA per SM); v:31 = v:29 streaming K and V without scores or P.V (diagnostic); v:32 = that stream with steps dealt round-robin (diagnostic); v:33 = the per-KV-head kernel streaming K and V through cp.async into per-warp shared-memory rings (a CTA per SM), v:34 = in lock step, v:35 = V issued after the current scores, v:36 = both, v:37-40 = 33-36 with rows not swizzled, v:41 = copies without zero-fill; v:42 = the dense kernel's loads with the L2 256-byte prefetch hint (the default before call 44); v:43 = the sampling kernels' key loads without it; v:44 = the dense kernel with a block barrier per 128 keys; v:45 = the dense kernel with two 16-key steps per warp in flight (next step loaded before the current one is computed; one CTA per SM); v:49 / v:50 = v:33 with the copies' L2 128-byte / 256-byte prefetch hint, v:51 = v:49 in lock step; v:52 / v:53 = cuDNN's structure (128-thread CTAs, CTA-wide 128-key K and V tiles through cp.async, 2 / 3 tiles in the ring, copies in cuDNN's order), v:54 = one K and one V buffer used alternately, v:56 = v:52 with two 256-byte rows per warp-wide copy, v:57 = v:52 with its ring 16 bytes off the 128-byte alignment (diagnostic); v:55 = v:33 with copies in cuDNN's order (four 128-byte pieces per warp-wide copy); "
                  "v:11/12/13 = stopped after the key stream / the budgets / counts + compaction (diagnostics); "
                  "v:16 = sampling tile statistics (flash: and counts) after the key stream, not inside it; v:21/22/23 = 16/32/48 KB of unused shared memory per CTA (less L1 at the same occupancy); v:58/59/60 = the sampling kernels' key stream through a cp.async ring of 4/6/8 half steps per warp (64/96/128 KB):", "",
                  "| kernel | B | n_k | variant | chunks | time | default at the same chunks |", "|---|---|---|---|---|---|---|"]
        for r in sorted(var, key=lambda r: (r["kind"], r["B"], r["n"], r["variant"], r["chunks_req"])):
            same = [q for q in rows if q["kind"] == r["kind"] and q["B"] == r["B"] and q["n"] == r["n"] and q["S"] == r["S"]
                    and q["variant"] == 0 and q["pf_req"] < 0 and (q["chunks_req"] == r["chunks_req"] or
                    (r["chunks_req"] == 0 and q["chunks_req"] == 0))]
            lines.append(f"| {r['kind']} | {r['B']} | {r['n']} | {r['variant']} | {r['chunks']} | {r['median_us']:.1f} | "
                         + (f"{same[0]['median_us']:.1f} |" if same else "- |"))
    pfs = [r for r in rows if r["pf_req"] >= 0]
    if pfs:
        levels = sorted({r["pf_req"] for r in pfs})
        lines += ["", "L2 prefetch distance sweep at n_k = 32768 (median us; steps of 16 keys per warp ahead):", "",
                  "| kernel | B | " + " | ".join(str(x) for x in levels) + " |", "|---|---|" + "---|" * len(levels)]
        for kind in ("dense", "prop_gs", "flash"):
            for B in sorted({r["B"] for r in pfs}):
                cs = []
                for x in levels:
                    m = [r for r in pfs if r["kind"] == kind and r["B"] == B and r["pf_req"] == x]
                    cs.append(f"{m[0]['median_us']:.1f}" if m else "-")
                lines.append(f"| {kind} | {B} | " + " | ".join(cs) + " |")
    if other_layouts:
        lines += ["", "Other cache layouts (median us; layout 6 = a paged cache of 16-row pages in a shuffled order, 1-5 = where K "
                  "and V lie in one allocation; the last column is the same point on the contiguous two-allocation cache):", "",
                  "| kernel | B | n_k | variant | layout | chunks | time | TB/s | contiguous |", "|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(other_layouts, key=lambda r: (r["layout"], r["kind"], r["B"], r["n"], r["variant"])):
            same = [q for q in rows if all(q[k] == r[k] for k in ("kind", "S", "B", "n", "variant", "chunks_req", "pf_req"))]
            lines.append(f"| {r['kind']} | {r['B']} | {r['n']} | {r['variant']} | {r['layout']} | {r['chunks']} | "
                         f"{r['median_us']:.1f} | {r['tbps']:.2f} | " + (f"{same[0]['median_us']:.1f} |" if same else "- |"))
    crossover = None
    for n in sorted({r["n"] for r in rows if r["B"] == 1}):
        prop = auto.get(("prop_gs", 128, 1, n))
        tb = best.get((1, n))
        if prop and tb and tb[0] / prop["median_us"] >= 1.0:
            crossover = n
            break
    lines += ["", f"Smallest n_k (batch 1) where prop S=128 beats the best dense: {crossover}", "", "Targets at n_k = 32768:", ""]
    for name, val, target in checks:
        lines.append(f"- {name}: {val:.3f} (target >= {target}) {'MET' if val >= target else 'MISSED by ' + f'{100 * (1 - val / target):.1f}%'}")
    with open(a.md, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(a.csv, "w", newline="") as f:
        if out_rows:
            w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
            w.writeheader()
            w.writerows(out_rows)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
