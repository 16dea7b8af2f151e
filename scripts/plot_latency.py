#!/usr/bin/env python3
"""Figures and tables of a P1 latency result (kind latency, `santa run experiments/p1_latency.yaml`, plus the
torch SDPA rows scripts/torch_sdpa_baseline.py --h5 appends).

Writes to --out (default: the result file's folder):
  latency_vs_nk.png   latency vs n_k per backend, one panel per (distribution, batch)
  speedup.png         speedup over the best dense (exact) backend at the same (batch, n_k), crossovers marked
  bandwidth.png       achieved bandwidth (bytes the backend must read / time) vs the GPU's measured ceiling
  speedup.md          the speedup table (also printed last), with the crossover context lengths

Times are medians by default (--stat mean for means; error bars then show the 95 % CI of the mean). "Best
dense" is the fastest exact backend (our dense kernel, FlashInfer, torch cuDNN, torch flash) at the same batch
and n_k; exact backends' time does not depend on the input values, so rows measured on Gaussian inputs (the
torch script's) also serve the other distributions. The crossover of a sampling backend is the context length
above which it stays faster than the best dense backend, interpolated linearly in (log n_k, log speedup)
between the two measured lengths around it.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections import defaultdict

EXACT = ("dense", "flashinfer", "torch_cudnn", "torch_flash")
# PROTOCOLS.md P1: RTX 6000 Ada, batch 1, n_k = 32768, speedup over FlashInfer. The paper's prop kernel uses the
# largest-remainder rule (our prop_reference); our prop (global systematic) is set beside the same number.
PAPER = {("prop_reference", 128): 1.50, ("prop", 128): 1.50, ("flash", 2048): 1.51}


def fail(message: str) -> None:
    print(f"plot_latency: ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def text(x) -> str:
    return x.decode().rstrip("\x00") if isinstance(x, bytes) else str(x)


def load(path: str) -> tuple[list[dict], dict]:
    try:
        import h5py
    except ImportError as e:
        fail(f"h5py is needed to read {path} ({e})")
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    with h5py.File(path, "r") as f:
        if "points" not in f:
            fail(f"{path}: no /points table (not a santa result file)")
        table = f["points"][()]
        attrs = {k: (text(v) if isinstance(v, (bytes, str)) else v) for k, v in f.attrs.items()}
    names = table.dtype.names
    for required in ("backend", "batch", "n_k", "S", "distribution", "median_us", "mean_us", "tbps"):
        if required not in names:
            fail(f"{path}: /points has no column '{required}' (not a latency result file)")
    rows = []
    for rec in table:
        row = {n: (text(rec[n]) if table.dtype[n].kind in "SUO" else rec[n].item()) for n in names}
        rows.append(row)
    if not rows:
        fail(f"{path}: /points is empty")
    failed = [r for r in rows if r.get("check_failed", 0) > 0]  # NaN compares False: torch rows pass
    for r in failed:
        print(f"plot_latency: WARNING: {r['backend']} S={r['S']} {r['distribution']} batch {r['batch']} n_k "
              f"{r['n_k']}: {int(r['check_failed'])} path(s) failed the output check (santa's log says why)",
              file=sys.stderr)
    return rows, attrs


def config(row: dict) -> tuple[str, int]:
    """(backend, S) with S = 0 for exact backends (S does not apply)."""
    return (row["backend"], 0 if row["backend"] in EXACT else int(row["S"]))


def label(cfg: tuple[str, int]) -> str:
    backend, s = cfg
    names = {"dense": "dense (ours)", "flashinfer": "FlashInfer", "torch_cudnn": "torch SDPA cuDNN",
             "torch_flash": "torch SDPA flash", "prop": "prop", "prop_reference": "prop (reference rule)",
             "prop_two_pass": "prop (two launches)", "flash": "flash"}
    return names.get(backend, backend) + (f" S={s}" if s else "")


class Table:
    """Times per (distribution, batch, n_k, config), exact rows shared across distributions."""

    def __init__(self, rows: list[dict], stat: str):
        self.stat = stat
        self.rows = rows
        self.t = {}
        self.by_key = {}
        for r in rows:
            if not math.isfinite(float(r[f"{stat}_us"])):  # e.g. a backend that failed its check: no time
                continue
            key = (r["distribution"], int(r["batch"]), int(r["n_k"]), config(r))
            self.t[key] = float(r[f"{stat}_us"])
            self.by_key[key] = r
        self.dists = sorted({r["distribution"] for r in rows}, key=lambda d: (d != "gaussian", d))
        self.batches = sorted({int(r["batch"]) for r in rows})
        self.ns = sorted({int(r["n_k"]) for r in rows})
        cfgs = {config(r) for r in rows}
        order = {b: i for i, b in enumerate(("dense", "flashinfer", "torch_cudnn", "torch_flash", "prop",
                                             "prop_two_pass", "prop_reference", "flash"))}
        self.cfgs = sorted(cfgs, key=lambda c: (order.get(c[0], 99), c[1]))
        self.sampling = [c for c in self.cfgs if c[0] not in EXACT]
        self.exact = [c for c in self.cfgs if c[0] in EXACT]

    def row(self, dist: str, batch: int, n: int, cfg) -> dict | None:
        r = self.by_key.get((dist, batch, n, cfg))
        if r is None and cfg[0] in EXACT:  # exact time does not depend on the values
            r = self.by_key.get(("gaussian", batch, n, cfg))
        return r

    def time(self, dist: str, batch: int, n: int, cfg) -> float:
        r = self.row(dist, batch, n, cfg)
        return float(r[f"{self.stat}_us"]) if r is not None else math.nan

    def best_dense(self, dist: str, batch: int, n: int) -> tuple[float, tuple[str, int] | None]:
        best, who = math.inf, None
        for c in self.exact:
            t = self.time(dist, batch, n, c)
            if t < best:
                best, who = t, c
        return (best if who else math.nan), who

    def speedup(self, dist: str, batch: int, n: int, cfg) -> float:
        return self.best_dense(dist, batch, n)[0] / self.time(dist, batch, n, cfg)


def crossover(ns: list[int], speedups: list[float]) -> tuple[str, float]:
    """Context length above which speedup >= 1 at every measured length: ('between', n*) interpolated,
    ('below', min n) if it pays everywhere, ('never', nan) if it does not pay at the longest length."""
    pts = [(n, s) for n, s in zip(ns, speedups) if math.isfinite(s) and s > 0]
    if not pts:
        return ("never", math.nan)
    if pts[-1][1] < 1.0:
        return ("never", math.nan)
    i = len(pts) - 1
    while i > 0 and pts[i - 1][1] >= 1.0:
        i -= 1
    if i == 0:
        return ("below", float(pts[0][0]))
    (n0, s0), (n1, s1) = pts[i - 1], pts[i]
    x0, x1, y0, y1 = math.log(n0), math.log(n1), math.log(s0), math.log(s1)
    x = x0 + (0.0 - y0) * (x1 - x0) / (y1 - y0) if y1 != y0 else x1
    return ("between", math.exp(x))


def describe_crossover(kind: str, n: float) -> str:
    if kind == "never":
        return "never (slower at every measured n_k)"
    if kind == "below":
        return f"<= {int(n)} (faster everywhere)"
    return f"{n:,.0f}"


def panels(tab: Table):
    return [(d, b) for d in tab.dists for b in tab.batches]


def figure(tab: Table, plt, title: str):
    ps = panels(tab)
    cols = len(tab.batches)
    rows = len(tab.dists)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    fig.suptitle(title, fontsize=11)
    return fig, {p: axes[i // cols][i % cols] for i, p in enumerate(ps)}


def finish_panel(a, dist: str, batch: int, xlabel: str, ylabel: str) -> None:
    a.set_xscale("log", base=2)
    a.set_title(f"{dist}, batch {batch}", fontsize=10)
    a.set_xlabel(xlabel)
    a.set_ylabel(ylabel)
    a.grid(True, which="both", alpha=0.3)


def save(plt, fig, ax, out: str, name: str) -> str:
    shared_legend(fig, ax)
    path = os.path.join(out, name)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def shared_legend(fig, ax) -> None:
    """One legend for all panels, below them (every panel shows the same backends)."""
    handles, labels = {}, []
    for a in ax.values():
        for h, l in zip(*a.get_legend_handles_labels()):
            if l not in handles:
                handles[l] = h
                labels.append(l)
    fig.legend([handles[l] for l in labels], labels, loc="lower center", ncol=min(7, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * math.ceil(len(labels) / 7), 1, 0.96))


def style(cfg):
    backend, s = cfg
    colors = {"dense": "black", "flashinfer": "tab:red", "torch_cudnn": "tab:brown", "torch_flash": "tab:pink",
              "prop": "tab:blue", "prop_two_pass": "tab:purple", "prop_reference": "tab:cyan", "flash": "tab:green"}
    markers = {0: "s", 128: "o", 256: "^", 1024: "D", 2048: "v"}
    return dict(color=colors.get(backend, "gray"), marker=markers.get(s, "x"),
                linestyle="--" if backend in EXACT else "-", markersize=4, linewidth=1.2)


def plot_all(tab: Table, attrs: dict, out: str, crossings: dict) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gpu = attrs.get("gpu_name", "unknown GPU")
    peak = float(attrs.get("peak_read_tbps", math.nan))
    copy = float(attrs.get("peak_copy_tbps", math.nan))
    written = []

    fig, ax = figure(tab, plt, f"Decode latency ({tab.stat}) on {gpu}")
    for (d, b), a in ax.items():
        for c in tab.cfgs:
            ys = [tab.time(d, b, n, c) for n in tab.ns]
            if all(math.isnan(y) for y in ys):
                continue
            kw = style(c)
            if tab.stat == "mean":
                lo = [y - tab.row(d, b, n, c)["ci95_lo_us"] if tab.row(d, b, n, c) else 0 for n, y in zip(tab.ns, ys)]
                hi = [tab.row(d, b, n, c)["ci95_hi_us"] - y if tab.row(d, b, n, c) else 0 for n, y in zip(tab.ns, ys)]
                a.errorbar(tab.ns, ys, yerr=[lo, hi], label=label(c), capsize=2, **kw)
            else:
                a.plot(tab.ns, ys, label=label(c), **kw)
        a.set_yscale("log")
        finish_panel(a, d, b, "context length n_k", f"{tab.stat} latency (us)")
    written.append(save(plt, fig, ax, out, "latency_vs_nk.png"))

    fig, ax = figure(tab, plt, f"Speedup over the best dense backend on {gpu} (> 1: faster); "
                               "dotted: crossover context length")
    for (d, b), a in ax.items():
        for c in tab.cfgs:
            ys = [tab.speedup(d, b, n, c) for n in tab.ns]
            if all(math.isnan(y) for y in ys):
                continue
            a.plot(tab.ns, ys, label=label(c), **style(c))
            kind, n_star = crossings.get((d, b, c), ("never", math.nan))
            if kind == "between":
                a.axvline(n_star, color=style(c)["color"], linestyle=":", linewidth=1)
                a.plot([n_star], [1.0], marker="*", color=style(c)["color"], markersize=9)
        a.axhline(1.0, color="gray", linewidth=1)
        finish_panel(a, d, b, "context length n_k", "best dense time / time")
    written.append(save(plt, fig, ax, out, "speedup.png"))

    fig, ax = figure(tab, plt, f"Achieved bandwidth (bytes the backend must read / median time) on {gpu}")
    for (d, b), a in ax.items():
        for c in tab.cfgs:
            pts = [(tab.row(d, b, n, c)["bytes_read"], tab.row(d, b, n, c)["tbps"]) for n in tab.ns
                   if tab.row(d, b, n, c) is not None]
            if not pts:
                continue
            a.plot([p[0] / 2**20 for p in pts], [p[1] for p in pts], label=label(c), **style(c))
        if math.isfinite(peak):
            a.axhline(peak, color="black", linewidth=1.5, label=f"measured read ceiling {peak:.2f} TB/s")
        if math.isfinite(copy):
            a.axhline(copy, color="black", linestyle=":", linewidth=1, label=f"measured copy {copy:.2f} TB/s")
        a.set_ylim(bottom=0)
        finish_panel(a, d, b, "bytes read per call (MiB)", "TB/s")
    written.append(save(plt, fig, ax, out, "bandwidth.png"))
    return written


def tables(tab: Table, attrs: dict, crossings: dict) -> str:
    gpu = attrs.get("gpu_name", "unknown GPU")
    peak = attrs.get("peak_read_tbps", math.nan)
    lines = [f"## P1 decode latency on {gpu} (measured read ceiling {float(peak):.2f} TB/s)", "",
             f"Speedup = {tab.stat} time of the best dense backend (named, with its time) / {tab.stat} time; "
             "> 1 means faster than every exact backend.", ""]
    for d in tab.dists:
        for b in tab.batches:
            lines.append(f"### {d}, batch {b}")
            lines.append("")
            head = ["n_k", "best dense", "us"] + [label(c) for c in tab.sampling]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            for n in tab.ns:
                t, who = tab.best_dense(d, b, n)
                if who is None:
                    continue
                cells = [str(n), label(who), f"{t:.1f}"]
                cells += [f"{tab.speedup(d, b, n, c):.2f}x" if math.isfinite(tab.speedup(d, b, n, c)) else "-"
                          for c in tab.sampling]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
            cross = [f"{label(c)}: {describe_crossover(*crossings[(d, b, c)])}" for c in tab.sampling
                     if (d, b, c) in crossings]
            if cross:
                lines.append("Crossover n_k (sampling faster than the best dense above it): " + "; ".join(cross))
                lines.append("")
    fi = ("flashinfer", 0)
    if fi in tab.exact and ("gaussian", 1, 32768, fi) in tab.t:
        lines.append("### Against FlashInfer, batch 1, n_k = 32768, Gaussian (the paper's operating points)")
        lines.append("")
        lines.append("| kernel | ours: FlashInfer time / time | paper (RTX 6000 Ada) |")
        lines.append("|---|---|---|")
        t_fi = tab.time("gaussian", 1, 32768, fi)
        for c in tab.sampling:
            paper = PAPER.get(c)
            ours = t_fi / tab.time("gaussian", 1, 32768, c)
            if math.isfinite(ours):
                lines.append(f"| {label(c)} | {ours:.2f}x | {f'{paper:.2f}x' if paper else ''} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("h5", help="latency result file (santa run + torch rows)")
    ap.add_argument("--out", help="folder for the PNGs and speedup.md (default: the result file's folder)")
    ap.add_argument("--stat", choices=["median", "mean"], default="median", help="time statistic (default median)")
    ap.add_argument("--no-plots", action="store_true", help="tables only (no matplotlib needed)")
    args = ap.parse_args(argv)
    out = args.out or os.path.dirname(os.path.abspath(args.h5))
    if not os.path.isdir(out):
        fail(f"--out {out}: no such folder")

    rows, attrs = load(args.h5)
    tab = Table(rows, args.stat)
    if not tab.exact:
        fail(f"{args.h5}: no exact backend rows (dense, flashinfer, torch_*): no speedup can be computed")
    crossings = {}
    for d in tab.dists:
        for b in tab.batches:
            for c in tab.cfgs:
                ys = [tab.speedup(d, b, n, c) for n in tab.ns]
                if any(math.isfinite(y) for y in ys):
                    crossings[(d, b, c)] = crossover(tab.ns, ys)
    if not args.no_plots:
        for path in plot_all(tab, attrs, out, crossings):
            print(f"# wrote {path}")
    md = tables(tab, attrs, crossings)
    with open(os.path.join(out, "speedup.md"), "w") as f:
        f.write(md + "\n")
    print(f"# wrote {os.path.join(out, 'speedup.md')}")
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
