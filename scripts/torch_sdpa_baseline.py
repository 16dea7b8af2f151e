#!/usr/bin/env python3
"""torch SDPA decode baseline (issue 5, PROTOCOLS.md P1) with the cuDNN and flash backends.

One query token per sequence, H query heads reading H_kv KV heads (enable_gqa=True), bf16 or fp16, a
contiguous NHD cache [B, n_k, H_kv, d] (the layout our kernels and FlashInfer read; --layout hnd stores
[B, H_kv, n_k, d] instead). Inputs are i.i.d. N(0, 1) from torch's CUDA generator seeded with --seed (the
harness draws its own; dense decode time does not depend on the values).

Protocol (P1): before EVERY call (warm-up and timed) a buffer larger than twice the L2 cache (default
512 MiB) is overwritten, outside the timed region; --warmup untimed calls, then --iters timed calls, each
bracketed by CUDA events around the one SDPA call; every sample is kept. Before timing, each backend's
output is checked against an fp32 reference; a mismatch stops the script with an error.

Output: a table on stdout (backend, batch, n_k, median, mean, 95 % CI of the mean, TB/s of the K+V+q bytes
at the median time); --csv FILE writes the same rows with every sample; --h5 FILE appends the rows
(backend = torch_cudnn / torch_flash) to a santa result file written by `santa run` (see append_to_h5).

Example: python3 scripts/torch_sdpa_baseline.py --batch 1 4 16 --n-k 8192 32768 131072 \
             --warmup 10 --iters 40 --csv out/torch.csv
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import NoReturn

BACKENDS = {"cudnn": "torch_cudnn", "flash": "torch_flash"}
DTYPE_BYTES = {"bf16": 2, "fp16": 2}
UNIT_ROUNDOFF = {"bf16": 2.0**-8, "fp16": 2.0**-11}  # u = 2^-p, p = significand precision in bits


def fail(message: str) -> NoReturn:
    print(f"torch_sdpa_baseline: ERROR: {message}", file=sys.stderr)
    sys.exit(1)


# --- statistics -------------------------------------------------------------------------------------------

def student_t_975(dof: int) -> float:
    """97.5 % quantile of Student's t: exact for dof 1, 2, tabulated for 3 to 6, then the Cornish-Fisher
    expansion (Abramowitz & Stegun 26.7.5; < 5e-5 off for dof >= 7, exact normal limit), so the script needs no
    scipy. The same as the harness (harness/measure/latency_stats.cpp)."""
    if dof < 1:
        return math.nan
    if dof <= 6:
        return (12.706204736174698, 4.302652729749464, 3.182446305284263, 2.776445105197793, 2.570581835636314,
                2.446911851144969)[dof - 1]
    z = 1.959963984540054
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    v = float(dof)
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


@dataclass
class Summary:
    mean_us: float
    median_us: float
    ci95_lo_us: float  # 95 % CI of the mean (Student t)
    ci95_hi_us: float
    std_us: float


def summarize(samples_us: list[float]) -> Summary:
    n = len(samples_us)
    s = sorted(samples_us)
    mean = sum(s) / n
    median = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    std = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else math.nan
    half = student_t_975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return Summary(mean, median, mean - half, mean + half, std)


@dataclass
class Point:
    backend: str  # torch_cudnn / torch_flash
    batch: int
    n_k: int
    heads: int
    kv_heads: int
    head_dim: int
    dtype: str
    layout: str
    warmup: int
    iters: int
    flush_mb: float
    seed: int
    max_rel_error: float
    samples_us: list[float] = field(default_factory=list)
    peak_tbps: float = math.nan

    @property
    def bytes_kv(self) -> int:  # K or V, every sequence and KV head: B * n_k * H_kv * d * bytes
        return self.batch * self.n_k * self.kv_heads * self.head_dim * DTYPE_BYTES[self.dtype]

    @property
    def bytes_meta(self) -> int:  # q (SDPA reads no lengths or page tables), as the harness counts metadata
        return self.batch * self.heads * self.head_dim * DTYPE_BYTES[self.dtype]

    @property
    def bytes_read(self) -> int:  # K + V + q, the harness's bytes_read (harness/measure/latency_bytes.hpp)
        return 2 * self.bytes_kv + self.bytes_meta

    @property
    def summary(self) -> Summary:
        return summarize(self.samples_us)

    @property
    def tbps(self) -> float:  # at the median time
        return self.bytes_read / (self.summary.median_us * 1e-6) / 1e12

    @property
    def fraction_of_peak(self) -> float:
        return self.tbps / self.peak_tbps if self.peak_tbps > 0 else math.nan


# --- measurement (needs torch and a GPU) ------------------------------------------------------------------

def measure(args: argparse.Namespace) -> tuple[list[Point], list[str]]:
    """Times every (batch, n_k, backend); returns the points and, separately, the backends that could not
    run a shape (e.g. a layout a backend rejects), so the others still get measured."""
    try:
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError as e:
        fail(f"PyTorch with torch.nn.attention is needed ({e})")
    if not torch.cuda.is_available():
        fail("no CUDA device visible to PyTorch")

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    flush_bytes = int(args.flush_mb * 2**20)
    l2 = int(getattr(props, "L2_cache_size", 0))
    if l2 and flush_bytes <= 2 * l2:
        fail(f"--flush-mb {args.flush_mb} is not more than twice the L2 cache ({l2 / 2**20:.0f} MiB)")
    print(f"# GPU {props.name}, {props.multi_processor_count} SMs, L2 {l2 / 2**20:.0f} MiB; torch {torch.__version__}, "
          f"cuDNN {torch.backends.cudnn.version()}; layout {args.layout}, {args.dtype}, "
          f"H={args.heads} H_kv={args.kv_heads} d={args.head_dim}", flush=True)

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    sdpa_backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}
    flush = torch.empty(flush_bytes, dtype=torch.uint8, device=dev)
    scale = 1.0 / math.sqrt(args.head_dim)
    group = args.heads // args.kv_heads
    tol = 4 * UNIT_ROUNDOFF[args.dtype]  # derivation at check_against_reference
    points: list[Point] = []
    unavailable: list[str] = []

    for batch in args.batch:
        for n_k in args.n_k:
            gen = torch.Generator(device=dev)
            gen.manual_seed(args.seed)
            q = torch.randn(batch, args.heads, 1, args.head_dim, generator=gen, device=dev, dtype=dtype)
            if args.layout == "nhd":  # storage [B, n_k, H_kv, d], viewed as [B, H_kv, n_k, d]
                shape = (batch, n_k, args.kv_heads, args.head_dim)
                k = torch.randn(shape, generator=gen, device=dev, dtype=dtype).transpose(1, 2)
                v = torch.randn(shape, generator=gen, device=dev, dtype=dtype).transpose(1, 2)
            else:
                shape = (batch, args.kv_heads, n_k, args.head_dim)
                k = torch.randn(shape, generator=gen, device=dev, dtype=dtype)
                v = torch.randn(shape, generator=gen, device=dev, dtype=dtype)
            ref = reference(torch, q, k, v, scale, group)

            for name in args.backends:
                def call():
                    return F.scaled_dot_product_attention(q, k, v, scale=scale, enable_gqa=True)

                # Only this backend may run (sdpa_kernel raises if it cannot); entered once, so the timed
                # region holds the SDPA call alone.
                with sdpa_kernel([sdpa_backend[name]]):
                    try:
                        out = call()
                        torch.cuda.synchronize()
                    except RuntimeError as e:
                        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                        unavailable.append(f"{BACKENDS[name]} B={batch} n_k={n_k} layout={args.layout}: {reason}")
                        print(f"# UNAVAILABLE {unavailable[-1]}", flush=True)
                        continue
                    err = check_against_reference(torch, out, ref, tol, f"{BACKENDS[name]} B={batch} n_k={n_k}")

                    for _ in range(args.warmup):
                        flush.fill_(1)
                        call()
                    starts = [torch.cuda.Event(enable_timing=True) for _ in range(args.iters)]
                    ends = [torch.cuda.Event(enable_timing=True) for _ in range(args.iters)]
                    for i in range(args.iters):
                        # Outside the timed region: the start event completes after the flush in stream
                        # order, and the flush (~0.2 ms) outlasts the host's launch of the call.
                        flush.fill_(i & 0xFF)
                        starts[i].record()
                        call()
                        ends[i].record()
                    torch.cuda.synchronize()
                    if args.profile_range:  # one more call, alone between cudaProfilerStart/Stop, for ncu
                        flush.fill_(0)
                        torch.cuda.synchronize()
                        torch.cuda.profiler.start()
                        call()
                        torch.cuda.synchronize()
                        torch.cuda.profiler.stop()
                samples = [s.elapsed_time(e) * 1e3 for s, e in zip(starts, ends)]  # ms -> us
                p = Point(BACKENDS[name], batch, n_k, args.heads, args.kv_heads, args.head_dim, args.dtype,
                          args.layout, args.warmup, args.iters, args.flush_mb, args.seed, err, samples,
                          args.peak_tbps if args.peak_tbps is not None else math.nan)
                points.append(p)
                print(table_row(p), flush=True)
            del q, k, v, ref
            torch.cuda.empty_cache()
    return points, unavailable


def reference(torch, q, k, v, scale: float, group: int):
    """fp32 decode attention of the rounded inputs, one sequence at a time (bounded memory):
    q [B, H, 1, d], k/v [B, H_kv, n, d] -> [B, H, 1, d] in fp32."""
    torch.backends.cuda.matmul.allow_tf32 = False  # a TF32 reference would be less exact than bf16
    outs = []
    for b in range(q.shape[0]):
        kb = k[b].float()  # [H_kv, n, d]
        vb = v[b].float()
        qb = q[b, :, 0, :].float().reshape(kb.shape[0], group, -1)  # query head h -> KV head h // group
        p = torch.softmax(torch.einsum("kgd,knd->kgn", qb, kb) * scale, dim=-1)
        outs.append(torch.einsum("kgn,knd->kgd", p, vb).reshape(1, -1, 1, kb.shape[-1]))
        del kb, vb, p
    return torch.cat(outs)


def check_against_reference(torch, out, ref, tol: float, what: str) -> float:
    """Largest relative L2 error over (sequence, head) rows. The reference uses the same rounded inputs, so
    only the backend's own roundings count: at most three roundings to the 16-bit type in series (softmax
    weights before the P.V product, split-KV partials, the output), each uniform in [-u, u] (standard
    deviation u/sqrt(3)) and independent across elements: relative RMS <= u. 4u leaves four standard
    deviations for the worst row; a wrong head mapping or scale gives errors of order 1."""
    o = out.float()
    if not torch.isfinite(o).all():
        fail(f"{what}: output has non-finite values")
    rel = (o - ref).norm(dim=-1) / ref.norm(dim=-1)
    worst = float(rel.max())
    if not worst <= tol:
        fail(f"{what}: max relative L2 error {worst:.3e} vs the fp32 reference exceeds {tol:.3e}")
    return worst


# --- output ------------------------------------------------------------------------------------------------

HEADER = (f"{'backend':<12} {'batch':>5} {'n_k':>7} {'median_us':>10} {'mean_us':>10} "
          f"{'ci95_lo_us':>10} {'ci95_hi_us':>10} {'TB/s':>6} {'max_rel_err':>11}")


def table_row(p: Point) -> str:
    s = p.summary
    return (f"{p.backend:<12} {p.batch:>5} {p.n_k:>7} {s.median_us:>10.1f} {s.mean_us:>10.1f} "
            f"{s.ci95_lo_us:>10.1f} {s.ci95_hi_us:>10.1f} {p.tbps:>6.2f} {p.max_rel_error:>11.2e}")


CSV_FIELDS = ["backend", "batch", "n_k", "H", "H_kv", "d", "dtype", "layout", "warmup", "iters", "l2_flush_mb",
              "seed", "median_us", "mean_us", "ci95_lo_us", "ci95_hi_us", "std_us", "bytes_read", "tbps",
              "fraction_of_peak", "max_rel_error", "samples_us"]


def write_csv(path: str, points: list[Point]) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIELDS)
        for p in points:
            s = p.summary
            w.writerow([p.backend, p.batch, p.n_k, p.heads, p.kv_heads, p.head_dim, p.dtype, p.layout, p.warmup,
                        p.iters, p.flush_mb, p.seed, f"{s.median_us:.3f}", f"{s.mean_us:.3f}",
                        f"{s.ci95_lo_us:.3f}", f"{s.ci95_hi_us:.3f}", f"{s.std_us:.3f}", p.bytes_read,
                        f"{p.tbps:.4f}", f"{p.fraction_of_peak:.4f}", f"{p.max_rel_error:.3e}",
                        " ".join(f"{x:.3f}" for x in p.samples_us)])
    os.replace(tmp, path)  # never leave a half-written file under the target name


# --- santa result file (harness/store/result_file.hpp) -------------------------------------------------------

def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for c in data:
        h ^= c
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def canonical(value) -> str:
    """harness/core/value.cpp canonical(): i<int>, r<%.17g>, t<bytes>:<text>."""
    if isinstance(value, bool):
        raise TypeError("booleans are not santa values")
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return "r%.17g" % value
    text = str(value)
    return f"t{len(text.encode())}:{text}"


def param_hash(params: list[tuple[str, object]]) -> int:
    """harness/core/point.cpp param_hash(): FNV-1a 64 of 'name=canonical;' over the parameters in order."""
    return fnv1a64("".join(f"{n}={canonical(v)};" for n, v in params).encode())


def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def known_values(p: Point) -> tuple[dict, dict]:
    """Parameter and metric values this script knows, named as the latency kind names them."""
    s = p.summary
    params = {"backend": p.backend, "batch": p.batch, "n_k": p.n_k, "H": p.heads, "H_kv": p.kv_heads,
              "d": p.head_dim, "dtype": p.dtype, "cache": "contiguous", "warmup": p.warmup, "iters": p.iters,
              "l2_flush_mb": float(p.flush_mb), "distribution": "gaussian", "seed": p.seed}
    rows = p.batch * p.n_k * p.kv_heads
    metrics = {"mean_us": s.mean_us, "median_us": s.median_us, "ci95_lo_us": s.ci95_lo_us,
               "ci95_hi_us": s.ci95_hi_us, "std_us": s.std_us, "min_us": min(p.samples_us),
               "timed_calls": len(p.samples_us), "bytes_read": p.bytes_read, "bytes_k": p.bytes_kv,
               "bytes_v": p.bytes_kv, "bytes_meta": p.bytes_meta, "tbps": p.tbps,
               "fraction_of_peak": p.fraction_of_peak, "max_rel_error": p.max_rel_error,
               "distinct_v_rows": rows, "distinct_v_fraction": 1.0, "samples": len(p.samples_us)}
    return params, metrics


def append_to_h5(path: str, points: list[Point], overrides: dict[str, str], peak_attr: str) -> None:
    """Adds one /points row per measured point to a santa result file, with its timing samples in
    /arrays/<row>/samples_us. Parameters this script does not measure (S, distribution parameters, ...)
    take --set NAME=VALUE, else the value they have in the file's first row. A row with the same parameters
    (same param_hash) is replaced, so re-running updates rather than duplicates. The file is rewritten under
    a temporary name and renamed over the old one, as the harness does, so it is never half-written."""
    import h5py
    import numpy as np

    if not os.path.exists(path):
        fail(f"--h5 {path}: no such file (run `santa run` on a latency spec first; this script appends to it)")
    if os.path.exists(path + ".journal"):
        fail(f"--h5 {path}: {path}.journal exists, so a santa run is writing it or was interrupted; "
             "finish or resume that run first")
    tmp = f"{path}.tmp-{os.getpid()}"
    shutil.copyfile(path, tmp)
    try:
        with h5py.File(tmp, "r+") as f:
            if "points" not in f or "columns" not in f:
                fail(f"--h5 {path}: not a santa result file (no /points or /columns)")
            cols = [(_text(r["name"]), _text(r["role"]), _text(r["type"])) for r in f["columns"][()]]
            names = [c[0] for c in cols]
            for required in ("backend", "batch", "n_k", "mean_us", "median_us"):
                if required not in names:
                    fail(f"--h5 {path}: /points has no column '{required}': not a latency result file")
            ds = f["points"]
            existing = ds[()]
            if peak_attr in f.attrs and not any(p.peak_tbps > 0 for p in points):
                for p in points:
                    p.peak_tbps = float(f.attrs[peak_attr])
            rows, unfilled = [], set()
            for p in points:
                params, metrics = known_values(p)
                rec = np.zeros((), dtype=ds.dtype)
                hashed = []
                for name, role, typ in cols:
                    if name in overrides:
                        raw = overrides[name]
                        value = int(raw) if typ == "integer" else float(raw) if typ == "real" else raw
                    elif role == "parameter" and name in params:
                        value = params[name]
                    elif role == "metric" and name in metrics:
                        value = metrics[name]
                    elif role == "parameter" and len(existing):
                        value = existing[0][name]
                        value = _text(value) if typ == "text" else (int(value) if typ == "integer" else float(value))
                    elif role == "parameter":
                        fail(f"--h5 {path}: parameter column '{name}' has no value; pass --set {name}=VALUE")
                    else:
                        unfilled.add(name)
                        value = -1 if typ == "integer" else math.nan if typ == "real" else ""
                    if typ == "integer":
                        value = int(value)
                    elif typ == "real":
                        value = float(value)
                    else:
                        size = ds.dtype[name].itemsize
                        if len(str(value).encode()) > size:
                            fail(f"--h5 {path}: '{value}' does not fit column '{name}' ({size} bytes)")
                    rec[name] = value
                    if role == "parameter":
                        hashed.append((name, value))
                rec["param_hash"] = param_hash(hashed)
                rows.append((rec, p))
            if unfilled:
                print(f"# --h5: metric columns this script does not measure were left empty (NaN / -1): "
                      f"{', '.join(sorted(unfilled))}", file=sys.stderr)

            hashes = [int(h) for h in existing["param_hash"]] if len(existing) else []
            next_point = int(existing["point"].max()) + 1 if len(existing) else 0
            arrays = f.require_group("arrays")
            for rec, p in rows:
                h = int(rec["param_hash"])
                if h in hashes:  # same parameters measured before: replace in place (keeps row order)
                    index = hashes.index(h)
                    rec["point"] = ds[index]["point"]
                else:
                    index = ds.shape[0]
                    rec["point"] = next_point
                    next_point += 1
                    ds.resize((index + 1,))
                    hashes.append(h)
                ds[index] = rec
                key = str(index)
                if key in arrays:
                    del arrays[key]
                arrays.create_group(key).create_dataset("samples_us", data=np.asarray(p.samples_us, dtype="f8"))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"# --h5: {len(points)} rows written to {path}")


# --- command line ------------------------------------------------------------------------------------------

def bounded(kind, minimum, strict: bool = False):
    """argparse type: a `kind` (int or float) >= minimum (> minimum when strict), finite."""
    what = "an integer" if kind is int else "a number"
    bound = f"{'>' if strict else '>='} {minimum}"

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {what}")
        if not math.isfinite(v) or v < minimum or (strict and v == minimum):
            raise argparse.ArgumentTypeError(f"{text} must be {what} {bound}")
        return v

    return parse


positive_int = bounded(int, 1)
nonnegative_int = bounded(int, 0)
positive_float = bounded(float, 0.0, strict=True)


def key_value(text: str) -> tuple[str, str]:
    if "=" not in text or text.startswith("="):
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=VALUE")
    name, value = text.split("=", 1)
    return name, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=positive_int, nargs="+", default=[1], help="batch sizes (default 1)")
    ap.add_argument("--n-k", type=positive_int, nargs="+", default=[32768], help="context lengths (default 32768)")
    ap.add_argument("--warmup", type=nonnegative_int, default=10, help="untimed calls per point (default 10)")
    ap.add_argument("--iters", type=positive_int, default=40, help="timed calls per point (default 40)")
    ap.add_argument("--backends", nargs="+", choices=sorted(BACKENDS), default=["cudnn", "flash"])
    ap.add_argument("--heads", type=positive_int, default=32, help="query heads H (default 32)")
    ap.add_argument("--kv-heads", type=positive_int, default=8, help="KV heads H_kv (default 8)")
    ap.add_argument("--head-dim", type=positive_int, default=128, help="head dimension d (default 128)")
    ap.add_argument("--dtype", choices=sorted(DTYPE_BYTES), default="bf16")
    ap.add_argument("--layout", choices=["nhd", "hnd"], default="nhd",
                    help="K/V storage: nhd = [B, n_k, H_kv, d] (default, as our kernels), hnd = [B, H_kv, n_k, d]")
    ap.add_argument("--seed", type=nonnegative_int, default=0)
    ap.add_argument("--flush-mb", type=positive_float, default=512.0,
                    help="MiB overwritten before every call to evict L2 (default 512; must exceed 2x L2)")
    ap.add_argument("--peak-tbps", type=positive_float, default=None,
                    help="measured bandwidth ceiling for fraction_of_peak (default: the --h5 file's attribute)")
    ap.add_argument("--profile-range", action="store_true",
                    help="after the timed calls, one more call per point alone between cudaProfilerStart and "
                         "cudaProfilerStop (for `ncu --profile-from-start off`: the backend's own kernels only)")
    ap.add_argument("--csv", metavar="FILE", help="write one row per point, every sample included")
    ap.add_argument("--h5", metavar="FILE", help="append rows to this santa result file (latency kind)")
    ap.add_argument("--set", type=key_value, action="append", default=[], metavar="NAME=VALUE",
                    help="--h5: value of a parameter column this script does not measure (repeatable)")
    ap.add_argument("--peak-attr", default="peak_read_tbps",
                    help="--h5: root attribute holding the measured read ceiling in TB/s (default peak_read_tbps)")
    args = ap.parse_args(argv)
    if args.heads % args.kv_heads:
        ap.error(f"--heads {args.heads} must be a multiple of --kv-heads {args.kv_heads}")
    if args.csv and os.path.dirname(os.path.abspath(args.csv)) and not os.path.isdir(
            os.path.dirname(os.path.abspath(args.csv))):
        ap.error(f"--csv {args.csv}: directory does not exist")
    if args.h5 and not os.path.isfile(args.h5):
        ap.error(f"--h5 {args.h5}: no such file (the script appends to a result file that `santa run` wrote)")
    args.overrides = dict(args.set)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(HEADER, flush=True)
    points, unavailable = measure(args)
    if args.csv:
        write_csv(args.csv, points)
        print(f"# wrote {args.csv}")
    if args.h5 and points:
        append_to_h5(args.h5, points, args.overrides, args.peak_attr)
    if unavailable:
        print("torch_sdpa_baseline: ERROR: these points could not run (the others were measured):\n  " +
              "\n  ".join(unavailable), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
