#!/usr/bin/env python3
"""Turns Benchmarks/sidecar.sh's raw wrk figures into one Markdown table.

Usage: report.py RUNS INFO — RUNS has one line per wrk run,
"setup<TAB>connections<TAB>repeat<TAB>REIN_BENCH key=value ..." (see
request.lua); INFO has key=value lines (versions, RSS in KiB). Of the
repeats of a measurement the run with the median requests/s is kept.
"""

import statistics
import sys

SETUPS = [
    ("direct", "direct to nginx"),
    ("proxy", "nginx as reverse proxy"),
    ("rein", "rein sidecar (audit fsync off)"),
    ("rein-fsync", "rein sidecar (audit fsync on, the default)"),
]
TARGET_P50_US = 150
TARGET_P99_US = 1000
TARGET_THROUGHPUT = 0.5


def us(v):
    return f"{v / 1000:.2f} ms" if abs(v) >= 1000 else f"{v:.0f} µs"


def added(v):
    return ("+" if v >= 0 else "−") + us(abs(v))


def mib(kib):
    return f"{int(kib) / 1024:.1f} MiB"


def load(runs_path):
    runs = {}
    for line in open(runs_path):
        setup, conns, _rep, figures = line.rstrip("\n").split("\t")
        kv = dict(part.split("=") for part in figures.split()[1:])
        r = {k: int(v) for k, v in kv.items()}
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["errors"] = r["non2xx"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
        runs.setdefault((setup, int(conns)), []).append(r)
    kept = {}
    for key, rs in runs.items():
        rs.sort(key=lambda r: r["rps"])
        kept[key] = rs[(len(rs) - 1) // 2] if len(rs) % 2 else rs[len(rs) // 2 - 1]
        kept[key]["repeats"] = len(rs)
        kept[key]["rps_all"] = [r["rps"] for r in rs]
    return kept


def verdict(ok):
    return "met" if ok else "**not met**"


def main():
    kept = load(sys.argv[1])
    info = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[2]) if "=" in line)
    conns = sorted({c for _, c in kept})
    out = []
    out.append("| setup | connections | requests/s | p50 | p99 | added p50 vs direct | added p99 vs direct | rein RSS | non-2xx / socket errors |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for setup, label in SETUPS:
        for c in conns:
            r = kept.get((setup, c))
            if r is None:
                continue
            d = kept[("direct", c)]
            add50 = add99 = "—"
            if setup != "direct":
                add50, add99 = added(r["p50_us"] - d["p50_us"]), added(r["p99_us"] - d["p99_us"])
            rss = "—"
            if setup.startswith("rein"):
                rss = f"idle {mib(info[setup + '_idle_rss_kb'])}" if c == min(conns) else \
                      f"peak {mib(info[setup + '_peak_rss_kb'])}"
            out.append(f"| {label} | {c} | {r['rps']:,.0f} | {us(r['p50_us'])} | {us(r['p99_us'])} | "
                       f"{add50} | {add99} | {rss} | {r['errors']} |")
    out.append("")
    out.append("| target (rein, audit fsync off) | " + " | ".join(f"{c} connection{'s' if c > 1 else ''}" for c in conns) + " |")
    out.append("|---|" + "---|" * len(conns))
    row50, row99, rowtp = [], [], []
    for c in conns:
        r, d, p = kept[("rein", c)], kept[("direct", c)], kept[("proxy", c)]
        a50, a99 = r["p50_us"] - d["p50_us"], r["p99_us"] - d["p99_us"]
        ratio = r["rps"] / p["rps"]
        row50.append(f"{added(a50)}: {verdict(a50 <= TARGET_P50_US)}")
        row99.append(f"{added(a99)}: {verdict(a99 <= TARGET_P99_US)}")
        rowtp.append(f"{ratio:.2f}×: {verdict(ratio >= TARGET_THROUGHPUT)}")
    out.append(f"| added p50 ≤ {TARGET_P50_US} µs | " + " | ".join(row50) + " |")
    out.append(f"| added p99 ≤ {TARGET_P99_US / 1000:g} ms | " + " | ".join(row99) + " |")
    out.append(f"| throughput ≥ {TARGET_THROUGHPUT}× nginx as proxy | " + " | ".join(rowtp) + " |")
    out.append("")
    spread = "; ".join(
        f"{s} c{c} " + "/".join(f"{x:,.0f}" for x in kept[(s, c)]["rps_all"])
        for s, _ in SETUPS for c in conns if (s, c) in kept)
    out.append(f"{info['date']}, {info['cpu']} ({info['cores']} cores), load average before the runs {info['load']}; "
               f"{info['nginx']}, {info['wrk']}, rein {info['rein']} (release build), OpenSSL/libcurl as linked. "
               f"Loopback only; one signed S3 GetObject (`GET /bench-bucket/obj.json`, 1 KiB object, "
               f"session token, signed by botocore), re-signed before every run. wrk `-t1 -c1` and `-t2 -c32`, "
               f"{info['duration']} s after a {info['warmup']} s warm-up, {kept[('direct', conns[0])]['repeats']} "
               f"repeats interleaved across setups, the run with the median requests/s kept "
               f"(all runs, requests/s: {spread}). Client, proxies and upstream share the same cores.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
