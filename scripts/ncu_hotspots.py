#!/usr/bin/env python3
"""Where a kernel's warps stall: reads the SASS page of an Nsight Compute report
(`ncu --import R --page source --csv --print-source sass`), splits the code at its block barriers (BAR.SYNC /
BAR.RED: the kernel's phases, in code order) and prints each segment's share of the warp-stall samples, its
instructions executed, top stall reasons and instruction mix, then the hottest instructions, then (when the page
has the SourceCounters memory columns) the global-memory instructions per opcode: L1 tag requests, L2 sectors
(theoretical and ideal) and shared wavefronts per executed instruction, i.e. how many pieces each warp-wide copy
or load becomes (call 53: cuDNN's LDGSTS, 4 requests and 16 sectors per 512-byte copy).

Usage: python3 scripts/ncu_hotspots.py sass_page.csv[.gz] [--top 25] [--min-share 0.005]
"""
import argparse
import csv
import gzip
import sys

MIX = ["HMMA", "HGMMA", "UTMALDG", "UBLKCP", "LDGSTS", "SYNCS", "LDG", "LDSM", "LDS", "STS", "SHFL", "MUFU.EX2", "DFMA", "DADD", "FRND", "F2I", "ATOMS", "RED",
       "STL", "LDL", "NANOSLEEP"]


def num(x: str) -> float:
    try:
        return float(x)
    except ValueError:
        return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--min-share", type=float, default=0.005)
    a = ap.parse_args()
    opener = gzip.open if a.csv.endswith(".gz") else open
    with opener(a.csv, "rt", newline="", errors="replace") as f:
        rows = list(csv.reader(f))
    hi = next((i for i, r in enumerate(rows) if r and r[0] == "Address"), None)
    if hi is None:
        print("ncu_hotspots: no 'Address' header (not a SASS source page?)", file=sys.stderr)
        return 1
    head = rows[hi]
    si = head.index("Warp Stall Sampling (All Samples)")
    ie = head.index("Instructions Executed") if "Instructions Executed" in head else None
    reasons = [i for i, c in enumerate(head) if c.startswith("stall_") and "(Not" not in c]
    data = [r for r in rows[hi + 1:] if len(r) > si]
    tot = sum(num(r[si]) for r in data) or 1.0
    print(f"{len(data)} instructions, {tot:.0f} warp-stall samples")
    print("segments between block barriers (share of samples, instructions executed, top stalls, mix):")
    start = 0
    for k, r in enumerate(data):
        txt = r[1]
        if not ("BAR.SYNC" in txt or "BAR.RED" in txt or "EXIT" in txt or k == len(data) - 1):
            continue
        seg = data[start:k + 1]
        s = sum(num(x[si]) for x in seg)
        if s / tot >= a.min_share:
            ex = sum(num(x[ie]) for x in seg) if ie is not None else 0
            rs = sorted(((sum(num(x[i]) for x in seg), head[i][6:]) for i in reasons), reverse=True)[:3]
            mix = {m: sum(m in x[1] for x in seg) for m in MIX}
            print(f"  [{start:5d}-{k:5d}] {100 * s / tot:5.1f}%  exec {ex / 1e6:7.2f} M  "
                  f"{', '.join(f'{n} {100 * v / max(s, 1):.0f}%' for v, n in rs)}  "
                  f"{' '.join(f'{m}:{v}' for m, v in mix.items() if v)}")
        start = k + 1
    print(f"hottest instructions:")
    for r in sorted(data, key=lambda r: -num(r[si]))[: a.top]:
        print(f"  {100 * num(r[si]) / tot:5.1f}%  {r[1].strip()[:100]}")
    memory_summary(head, data)
    return 0


MEM_COLUMNS = ["L1 Tag Requests Global", "L2 Theoretical Sectors Global", "L2 Theoretical Sectors Global Ideal",
               "L1 Wavefronts Shared", "L1 Wavefronts Shared Ideal"]


def opcode(source: str) -> str:
    """The instruction's opcode with its modifiers, without a leading predicate (e.g. LDGSTS.E.BYPASS.128)."""
    words = source.split()
    return words[1] if words and words[0].startswith("@") and len(words) > 1 else (words[0] if words else "")


def memory_summary(head: list, data: list) -> None:
    if "Instructions Executed" not in head or not all(c in head for c in MEM_COLUMNS):
        return
    ie = head.index("Instructions Executed")
    cols = [head.index(c) for c in MEM_COLUMNS]
    groups: dict = {}
    for r in data:
        op = opcode(r[1])
        if not op.startswith(("LDG", "STG", "UTMALDG", "UBLKCP", "RED", "ATOMG")) or op.startswith("LDGDEPBAR"):
            continue
        g = groups.setdefault(op, [0, 0.0] + [0.0] * len(cols))
        g[0] += 1
        g[1] += num(r[ie])
        for k, c in enumerate(cols):
            g[2 + k] += num(r[c])
    if not groups:
        return
    print("global-memory instructions (per executed instruction: L1 tag requests, L2 sectors theoretical / ideal, "
          "shared wavefronts / ideal):")
    for op, g in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        ex = g[1]
        if ex <= 0:
            continue
        req, sec, ideal, wf, wfi = (v / ex for v in g[2:])
        print(f"  {op:32s} {g[0]:4d} in code, {ex / 1e6:8.3f} M executed: {req:5.2f} requests, "
              f"{sec:5.2f} / {ideal:5.2f} sectors, {wf:5.2f} / {wfi:5.2f} wavefronts")


if __name__ == "__main__":
    sys.exit(main())
