#!/usr/bin/env python3
"""Turn santa result files (HDF5) into PNG figures and CSV tables of fitted slopes.

    python3 scripts/plot_results.py results/p2_variance.h5 [more.h5 ...] [--out DIR]

The figure depends on the file's `kind` root attribute:
  variance   <stem>_mse.png (E||y_hat - y||^2 vs S, log-log, Monte Carlo with 95% bars beside the closed form,
             fitted slope per scheme), <stem>_bias.png (bias norm vs S with its noise floor), <stem>_slopes.csv
  bernoulli  <stem>_error.png (relative score error vs B, slopes), <stem>_access.png (key-feature access
             fraction vs B), <stem>_slopes.csv
  coverage   <stem>_coverage.png (prefill coverage vs S per n_k, beside uniform attention), <stem>_coverage.csv
  fidelity   <stem>_fidelity.png (relative L2 error and cosine vs tiles holding 90% of the mass; flash vs
             tile size), <stem>_fidelity.csv
Output goes next to the input unless --out is given. Needs h5py, numpy, matplotlib (scripts/requirements.txt).
"""
import argparse
import csv
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SCHEME_STYLE = {
    "iid": ("C0", "o"),
    "strat": ("C1", "s"),
    "sys": ("C2", "^"),
    "flash": ("C3", "v"),
    "prop_reference": ("C4", "D"),
    "global_systematic": ("C5", "P"),
    "topk": ("C7", "x"),
}


def load_points(path):
    """The /points table as {column: numpy array} (text decoded) plus the root attributes."""
    with h5py.File(path, "r") as f:
        table = f["points"][:]
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    cols = {}
    for name in table.dtype.names:
        col = table[name]
        if col.dtype.kind == "S":
            col = np.char.decode(col, "utf-8")
        cols[name] = col
    return cols, attrs


def fit_loglog(x, y):
    """Least-squares slope of log y on log x, with its standard error (from the residuals)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    if len(lx) < 3:
        return float("nan"), float("nan"), int(len(lx))
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    dof = len(lx) - 2
    s2 = float(res[0]) / dof if len(res) and dof > 0 else 0.0
    se = np.sqrt(s2 / np.sum((lx - lx.mean()) ** 2))
    return float(coef[0]), float(se), int(len(lx))


def title_of(attrs):
    return f"{attrs.get('name', '')} ({attrs.get('kind', '')}), commit {str(attrs.get('git_commit', ''))[:12]}"


def unique(a):
    return list(dict.fromkeys(a.tolist()))


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {path}")


def save(fig, path):
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


def series(cols, mask, key):
    """The rows selected by `mask`, sorted by column `key`, as {column: array}."""
    order = np.argsort(cols[key][mask])
    return {k: v[mask][order] for k, v in cols.items()}


def scheme_grid(cols, draw, ylabel):
    """One log-log panel per (distribution, n_k); draw(ax, scheme, rows) adds each scheme's curve."""
    dists, nks, schemes = unique(cols["distribution"]), unique(cols["n_k"]), unique(cols["scheme"])
    fig, axes = plt.subplots(len(dists), len(nks), figsize=(4.6 * len(nks), 3.8 * len(dists)), squeeze=False,
                             constrained_layout=True)
    for i, dist in enumerate(dists):
        for j, nk in enumerate(nks):
            ax = axes[i][j]
            for scheme in schemes:
                m = (cols["distribution"] == dist) & (cols["n_k"] == nk) & (cols["scheme"] == scheme)
                if m.any():
                    draw(ax, scheme, series(cols, m, "S"))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{dist}, n_k = {nk}", fontsize=10)
            ax.set_xlabel("S (sample budget)")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.25)
    return fig, axes


def plot_variance(cols, attrs, stem):
    slopes = []

    def mse_curve(ax, scheme, r):
        color, marker = SCHEME_STYLE.get(scheme, ("k", "."))
        has_cf = np.isfinite(r["mse_closed_form"]).any()
        # Fit where the real number of draws is the budget S (flash draws max(S, tiles)).
        real = np.isclose(r["samples_drawn"], r["S"])
        slope, slope_se, n = fit_loglog(r["S"][real], r["mse"][real])
        slope_cf = fit_loglog(r["S"], r["mse_closed_form"])[0] if has_cf else float("nan")
        slopes.append([r["distribution"][0], r["n_k"][0], scheme, f"{slope:.4f}", f"{slope_se:.4f}", n,
                       "" if np.isnan(slope_cf) else f"{slope_cf:.4f}"])
        ax.errorbar(r["S"], r["mse"], yerr=1.96 * np.nan_to_num(r["mse_se"]), color=color, marker=marker, ms=4,
                    lw=1, ls="none" if has_cf else "-", capsize=2, label=f"{scheme} (slope {slope:.2f})")
        if has_cf:
            ax.plot(r["S"], r["mse_closed_form"], color=color, ls="--", lw=1.2)

    fig, axes = scheme_grid(cols, mse_curve, "E||y_hat - y||^2")
    for ax in axes.flat:
        ax.legend(fontsize=7)
    fig.suptitle(title_of(attrs) + "\nmarkers: Monte Carlo (95% bars); dashed: closed form (iid, strat)", fontsize=10)
    save(fig, stem + "_mse.png")
    write_csv(stem + "_slopes.csv", ["distribution", "n_k", "scheme", "slope_mc", "slope_mc_se", "points_fitted",
                                     "slope_closed_form"], slopes)

    first = unique(cols["scheme"])[0]

    def bias_curve(ax, scheme, r):
        color, marker = SCHEME_STYLE.get(scheme, ("k", "."))
        b = r["bias_norm"] / r["y_norm"]
        detected = r["bias_ci95_lo"] > 0  # the 95% CI of the true bias excludes 0
        ax.plot(r["S"], b, color=color, lw=1, label=scheme)
        ax.plot(r["S"][detected], b[detected], color=color, marker=marker, ms=5, ls="none")
        ax.plot(r["S"][~detected], b[~detected], color=color, marker=marker, ms=5, ls="none", mfc="none")
        theory = r["bias_norm_theory"] / r["y_norm"]
        if np.any(theory > 0):
            ax.plot(r["S"], theory, color=color, ls="--", lw=1.2)
        if scheme == first:
            ax.plot(r["S"], r["bias_se"] / r["y_norm"], color="k", ls=":", lw=1, label=f"noise floor ({scheme})")

    fig, axes = scheme_grid(cols, bias_curve, "||mean(y_hat) - y|| / ||y||")
    for ax in axes.flat:
        ax.legend(fontsize=7)
    fig.suptitle(title_of(attrs) + "\nrelative bias ||mean(y_hat) - y|| / ||y||; filled marker: 95% CI of the true bias "
                 "excludes 0; dashed: theory; dotted: noise floor", fontsize=10)
    save(fig, stem + "_bias.png")


def single_axes(ax, attrs, xlabel, ylabel, logy=False):
    """Log-2 x axis, grid, legend and the file's title on one figure's axes."""
    ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    ax.set_title(title_of(attrs), fontsize=9)


def plot_bernoulli(cols, attrs, stem):
    modes = unique(cols["mode"])
    slopes = []
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, mode in enumerate(modes):
        r = series(cols, cols["mode"] == mode, "B")
        for metric, ls, what in (("rel_err", "-", "per head"), ("rel_err_group", "--", "mean group query")):
            slope, slope_se, n = fit_loglog(r["B"], r[metric])
            slopes.append([mode, metric, f"{slope:.4f}", f"{slope_se:.4f}", n])
            ax.plot(r["B"], r[metric], color=f"C{k}", ls=ls, marker="o", ms=3, label=f"{mode}, {what} (slope {slope:.2f})")
    single_axes(ax, attrs, "B (ternary query samples)", "||p_hat - p|| / ||p||  (scores q K^T)", logy=True)
    save(fig, stem + "_error.png")
    write_csv(stem + "_slopes.csv", ["mode", "metric", "slope", "slope_se", "points_fitted"], slopes)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, mode in enumerate(modes):
        r = series(cols, cols["mode"] == mode, "B")
        for metric, ls in (("access_head", "-"), ("access_group_union", ":"), ("access_group_mean_query", "--")):
            ax.plot(r["B"], r[metric], color=f"C{k}", ls=ls, marker="o", ms=3, label=f"{mode}, {metric}")
    single_axes(ax, attrs, "B", "fraction of the d key features read")
    save(fig, stem + "_access.png")


def attrs_group(cols):
    return int(cols["H"][0] // cols["H_kv"][0])


def plot_coverage(cols, attrs, stem):
    nks = sorted(unique(cols["n_k"]))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    rows = []
    for k, nk in enumerate(nks):
        r = series(cols, cols["n_k"] == nk, "S")
        ax.errorbar(r["S"], r["coverage_pct"], yerr=1.96 * r["coverage_pct_se"], color=f"C{k}", marker="o", ms=4,
                    capsize=2, label=f"n_k = {nk}")
        for i in range(len(r["S"])):
            rows.append([nk, r["S"][i]] + [f"{r[c][i]:.3f}" for c in ("coverage_pct", "coverage_pct_se",
                                                                       "coverage_group_pct", "uniform_pct")])
    r = series(cols, cols["n_k"] == nks[-1], "S")
    ax.plot(r["S"], r["uniform_pct"], "k--", lw=1, label="uniform attention")
    if not np.allclose(r["coverage_group_pct"], r["coverage_pct"]):
        ax.plot(r["S"], r["coverage_group_pct"], "k:", marker="s", ms=4, lw=1,
                label=f"per GQA group of {attrs_group(cols)} heads (n_k = {nks[-1]})")
    single_axes(ax, attrs, "S (samples per query position)", "V rows read over all positions (% of n_k)")
    save(fig, stem + "_coverage.png")
    write_csv(stem + "_coverage.csv", ["n_k", "S", "coverage_pct", "coverage_pct_se", "coverage_group_pct",
                                       "uniform_pct"], rows)


def plot_fidelity(cols, attrs, stem):
    configs = unique(np.char.add(np.char.add(cols["scheme"], "|"),
                                 np.char.add(cols["S"].astype(str), np.char.add("|", cols["tile"].astype(str)))))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
    rows = []
    for cfg in configs:
        scheme, S, tile = cfg.split("|")
        m = (cols["scheme"] == scheme) & (cols["S"] == int(S)) & (cols["tile"] == int(tile))
        order = np.argsort(cols["tiles_90"][m])
        t90 = cols["attn_tiles_90"][m][order]
        color, marker = SCHEME_STYLE.get(scheme, ("k", "."))
        ls = {"128": ":", "256": "--", "1024": "-", "2048": "-"}.get(S, "-")
        label = f"{scheme} S={S} tile={tile}"
        if int(tile) == 256:
            axes[0].errorbar(t90, cols["rel_l2"][m][order], yerr=1.96 * cols["rel_l2_se"][m][order], color=color,
                             marker=marker, ls=ls, ms=4, capsize=2, label=label)
            axes[1].plot(t90, cols["cosine"][m][order], color=color, marker=marker, ls=ls, ms=4, label=label)
        for t, r, rs, c, mse in zip(t90, cols["rel_l2"][m][order], cols["rel_l2_se"][m][order],
                                    cols["cosine"][m][order], cols["mse"][m][order]):
            rows.append([scheme, S, tile, int(t), f"{r:.4f}", f"{rs:.4f}", f"{c:.4f}", f"{mse:.4f}"])
    flash = cols["scheme"] == "flash"
    for k, t90 in enumerate(sorted(unique(cols["tiles_90"][flash]))):
        m = flash & (cols["tiles_90"] == t90)
        order = np.argsort(cols["tile"][m])
        axes[2].errorbar(cols["tile"][m][order], cols["rel_l2"][m][order], yerr=1.96 * cols["rel_l2_se"][m][order],
                         color=f"C{k}", marker="o", ms=4, capsize=2, label=f"tiles_90 = {t90}")
    axes[0].set_ylabel("relative L2 error ||y_hat - y|| / ||y||")
    axes[1].set_ylabel("cosine(y_hat, y)")
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("256-key tiles holding 90% of the mass (measured)")
    axes[2].set_xscale("log", base=2)
    axes[2].set_xlabel("flash tile size (keys), S = 2048")
    axes[2].set_ylabel("relative L2 error")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7)
    fig.suptitle(title_of(attrs), fontsize=10)
    save(fig, stem + "_fidelity.png")
    write_csv(stem + "_fidelity.csv", ["scheme", "S", "tile", "tiles_90", "rel_l2", "rel_l2_se", "cosine", "mse"],
              rows)


PLOTTERS = {"variance": plot_variance, "bernoulli": plot_bernoulli, "coverage": plot_coverage,
            "fidelity": plot_fidelity}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="santa result files (.h5)")
    ap.add_argument("--out", help="folder for the figures (default: next to each input)")
    args = ap.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            cols, attrs = load_points(path)
        except (OSError, KeyError) as e:
            print(f"{path}: cannot read as a santa result file: {e}", file=sys.stderr)
            status = 1
            continue
        kind = attrs.get("kind", "")
        plotter = PLOTTERS.get(kind)
        if plotter is None:
            print(f"{path}: no figure for kind '{kind}' (plots exist for {', '.join(PLOTTERS)})", file=sys.stderr)
            status = 1
            continue
        if len(cols["point"]) == 0:
            print(f"{path}: the file holds no points", file=sys.stderr)
            status = 1
            continue
        out_dir = args.out or os.path.dirname(os.path.abspath(path))
        os.makedirs(out_dir, exist_ok=True)
        plotter(cols, attrs, os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0]))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
