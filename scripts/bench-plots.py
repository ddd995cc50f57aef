#!/usr/bin/env python3
"""scripts/bench-plots.py: the benchmarks' CSV figures as PNG plots.

    scripts/bench-plots.py [--out DIR] [--runs RUNS.csv] [--table FILE]
                           [--doc FILE] CSV...

Reads the CSV files of the contract in docs/benchmarks.md "CSV contract"
(docs/bench/history.csv, tests/out/bench/results.csv; a run found in two
files is taken from the first), checks every row, and writes gnuplot
scripts that gnuplot (Debian's gnuplot-nox) draws into DIR (docs/bench):

  BENCH.png    per benchmark, one panel each when it has such figures:
               rates (unit ".../s") and p99 latencies (ms), against the
               ledger size when its latest run measured a figure at more
               than one size, else across runs; CPU per operation (us)
               across runs; the ratio to the same-run reference across runs;
  memory.png   resident memory (MiB) against the ledger size, the latest
               run that measured each point;
  ratios.png   every ratio to its reference in each benchmark's latest
               run, one bar each.

--table FILE writes each benchmark's latest run (`make bench` and `make
bench-scale` are separate runs) as a Markdown section (date, machine,
load and command from --runs, then one row per figure); --doc FILE puts
that section between the "<!-- latest-run:begin -->" and
"<!-- latest-run:end -->" lines of FILE.  A malformed row stops it with
"FILE:LINE: what is wrong" and exit status 2, before anything is drawn.
Only the Python standard library.
"""

import argparse
import csv
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

HEADER = ["run_id", "date", "bench", "metric", "value", "unit",
          "reference_metric", "reference_value", "ratio", "ledger_size",
          "load"]
RUNS_HEADER = ["run_id", "date", "nproc", "cpu_model", "load_start",
               "load_end", "benches", "failed", "command"]
NAME = re.compile(r"^[a-z0-9_.-]+$")
UNIT = re.compile(r"^[A-Za-z0-9/%_.-]+$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-z]+\+?$")
MAX_ROWS = 1000000              # a history bigger than this is a mistake
PANEL_H = 300                   # pixels per panel
WIDTH = 900
MARKER_BEGIN = "<!-- latest-run:begin -->"
MARKER_END = "<!-- latest-run:end -->"


class BadInput(Exception):
    """A CSV that does not follow the contract: the message says where."""


def number(text, where, what, empty_ok=False):
    """The float in TEXT; raises BadInput naming WHERE and WHAT."""
    if text == "" and empty_ok:
        return None
    try:
        v = float(text)
    except ValueError:
        raise BadInput("%s: %s %r is not a number" % (where, what, text))
    if math.isnan(v) or math.isinf(v):
        raise BadInput("%s: %s %r is not a finite number" % (where, what, text))
    return v


def check_row(f, where):
    """A dict of one CSV row's fields, checked against the contract."""
    r = dict(zip(HEADER, f))
    if not RUN_ID.match(r["run_id"]):
        raise BadInput("%s: run_id %r is not TIMESTAMP-HASH" % (where, r["run_id"]))
    if not DATE.match(r["date"]):
        raise BadInput("%s: date %r is not YYYY-MM-DDTHH:MM:SSZ" % (where, r["date"]))
    for k in ("bench", "metric"):
        if not NAME.match(r[k]):
            raise BadInput("%s: %s %r is not a name [a-z0-9_.-]" % (where, k, r[k]))
    if not UNIT.match(r["unit"]):
        raise BadInput("%s: unit %r is not a unit" % (where, r["unit"]))
    if r["reference_metric"] and not NAME.match(r["reference_metric"]):
        raise BadInput("%s: reference_metric %r is not a name" % (where, r["reference_metric"]))
    r["value"] = number(r["value"], where, "value")
    r["reference_value"] = number(r["reference_value"], where, "reference_value", True)
    r["ratio"] = number(r["ratio"], where, "ratio", True)
    r["load"] = number(r["load"], where, "load", True)
    size = r["ledger_size"]
    if size and not size.isdigit():
        raise BadInput("%s: ledger_size %r is not a count" % (where, size))
    r["ledger_size"] = int(size) if size else None
    return r


def read_csv(path, header, check):
    """The rows of PATH (its first line must be HEADER), each through CHECK."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rd = csv.reader(fh, strict=True)
            first = next(rd, None)
            if first != header:
                raise BadInput("%s:1: header is %s, want %s" % (
                    path, ",".join(first or ["(empty file)"]), ",".join(header)))
            for f in rd:
                where = "%s:%d" % (path, rd.line_num)
                if len(f) != len(header):
                    raise BadInput("%s: %d fields, want %d (%s)" % (
                        where, len(f), len(header), ",".join(header)))
                rows.append(check(f, where))
                if len(rows) > MAX_ROWS:
                    raise BadInput("%s: more than %d rows" % (path, MAX_ROWS))
    except UnicodeDecodeError as e:
        raise BadInput("%s: not UTF-8 text (%s)" % (path, e.reason))
    except csv.Error as e:
        raise BadInput("%s: bad CSV: %s" % (path, e))
    return rows


def load_figures(paths):
    """Every row of PATHS; a run in two files is taken from the first."""
    rows, seen = [], set()
    for p in paths:
        got = read_csv(p, HEADER, check_row)
        runs = {r["run_id"] for r in got}
        rows += [r for r in got if r["run_id"] not in seen]
        seen |= runs
    if not rows:
        raise BadInput("%s: no figures (only a header)" % " ".join(paths))
    return rows


def run_order(rows):
    """Run ids oldest first (by the first date of each run)."""
    first = {}
    for r in rows:
        if r["run_id"] not in first or r["date"] < first[r["run_id"]]:
            first[r["run_id"]] = r["date"]
    return sorted(first, key=lambda k: (first[k], k)), first


def q(text):
    """TEXT as a gnuplot double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_rate(r):
    return r["unit"].endswith("/s")


def is_p99(r):
    return r["unit"] == "ms" and "p99" in r["metric"]


def is_cpu(r):
    return r["unit"] == "us"


def is_mem(r):
    return r["unit"] in ("MiB", "KiB", "GiB")


def mib(r):
    return r["value"] * {"KiB": 1 / 1024.0, "MiB": 1.0, "GiB": 1024.0}[r["unit"]]


def series_block(name, points):
    """A gnuplot datablock $NAME of "x y" lines."""
    lines = ["$%s << EOD" % name]
    lines += ["%r %r" % (x, y) for x, y in sorted(points)]
    lines.append("EOD")
    return lines


def panel(tag, title, ylabel, series, xlabel, xtics, logx):
    """Gnuplot lines for one panel: SERIES is [(title, [(x, y)])]; TAG
    names its datablocks (unique in one script)."""
    out, plots = [], []
    ys = [y for _, pts in series for _, y in pts]
    for i, (t, pts) in enumerate(series):
        out += series_block("%s_%d" % (tag, i), pts)
        plots.append("$%s_%d using 1:2 with linespoints pt 7 ps 0.8 title %s"
                     % (tag, i, q(t)))
    out.append("set title %s" % q(title))
    out.append("set ylabel %s" % q(ylabel))
    out.append("set xlabel %s" % q(xlabel))
    pos = [y for y in ys if y > 0]
    logy = bool(pos) and len(pos) == len(ys) and max(pos) / min(pos) > 30
    out.append("set logscale y" if logy else "unset logscale y")
    out.append("set logscale x; set format x '%.0f'" if logx else "unset logscale x; set format x '%g'")
    out.append("set yrange [*:*]" if logy else "set yrange [0:*]")
    if xtics:
        out.append("set xtics (%s) rotate by -30" % ", ".join(
            "%s %d" % (q(label), x) for x, label in xtics))
        out.append("set xrange [%g:%g]" % (-0.5, max(x for x, _ in xtics) + 0.5))
    else:
        out.append("set xtics autofreq norotate")
        out.append("set xrange [*:*]")
    out.append("plot " + ", \\\n     ".join(plots))
    return out


def run_tics(order, first):
    """(index, label) xtics for ORDER, at most about 12 labelled."""
    step = max(1, math.ceil(len(order) / 12))
    return [(i, first[k][5:16].replace("T", " "))
            for i, k in enumerate(order) if i % step == 0 or i == len(order) - 1]


def bench_panels(rows, order, first, latest):
    """The panels of one benchmark's figure, as lists of gnuplot lines."""
    idx = {k: i for i, k in enumerate(order)}
    tics = run_tics(order, first)
    out = []
    for title, ylabel, pick, field in (
            ("rates", "per second", is_rate, "value"),
            ("p99 latency", "ms", is_p99, "value"),
            ("CPU or time per operation", "us", is_cpu, "value"),
            ("ratio to the same-run reference", "ratio", lambda r: r["ratio"] is not None, "ratio")):
        sel = [r for r in rows if pick(r)]
        if not sel:
            continue
        sizes = {}
        for r in sel:
            if r["ledger_size"] is not None:
                sizes.setdefault((r["run_id"], r["metric"]), set()).add(r["ledger_size"])
        varied = {m for (run, m), s in sizes.items() if len(s) > 1}
        by_size = field == "value" and any(m for (run, m), s in sizes.items() if run == latest and len(s) > 1)
        series = {}
        for r in sel:
            name = r["metric"]
            if by_size:
                if r["run_id"] != latest or r["ledger_size"] is None:
                    continue
                x = r["ledger_size"]
            else:
                x = idx[r["run_id"]]
                if name in varied and r["ledger_size"] is not None:
                    name = "%s @ %s" % (name, "{:,}".format(r["ledger_size"]))
            series.setdefault(name, []).append((x, r[field]))
        label = ", ".join(sorted({r["unit"] for r in sel})) if field == "value" else ylabel
        if by_size:
            out.append(panel("p%d" % len(out), "%s against ledger size, run %s" % (title, latest), label,
                             sorted(series.items()), "certificates on the ledger", None, True))
        else:
            out.append(panel("p%d" % len(out), "%s across runs" % title, label, sorted(series.items()),
                             "run (UTC)", tics, False))
    return out


def bench_script(bench, rows, order, first, latest, png):
    """The gnuplot script drawing BENCH's figure into PNG, or None."""
    panels = bench_panels(rows, order, first, latest)
    if not panels:
        return None
    lines = ["set terminal pngcairo size %d,%d noenhanced font 'sans,9'" % (WIDTH, PANEL_H * len(panels)),
             "set output %s" % q(png), "set grid", "set key outside right top",
             "set lmargin 12", "set rmargin 34",
             "set multiplot layout %d,1 title %s" % (len(panels), q("tests/bench/%s.sh" % bench))]
    for p in panels:
        lines += p
    lines.append("unset multiplot")
    return "\n".join(lines) + "\n"


def memory_script(rows, png):
    """Resident memory against ledger size, the latest run of each point."""
    pts = {}
    for r in rows:
        if is_mem(r) and r["ledger_size"]:
            k = ("%s %s" % (r["bench"], r["metric"]), r["ledger_size"])
            if k not in pts or r["date"] > pts[k][0]:
                pts[k] = (r["date"], mib(r))
    if not pts:
        return None
    series = {}
    for (name, size), (_, v) in pts.items():
        series.setdefault(name, []).append((size, v))
    lines = ["set terminal pngcairo size %d,%d noenhanced font 'sans,9'" % (WIDTH, 420),
             "set output %s" % q(png), "set grid", "set key outside right top"]
    lines += panel("m", "resident memory (VmRSS) against ledger size", "MiB", sorted(series.items()),
                   "certificates (or entries) on the ledger", None, True)
    return "\n".join(lines) + "\n"


def ratios_script(rows, blatest, png):
    """Each benchmark's latest run's ratios to their references, one bar each."""
    sel = [r for r in rows if r["run_id"] == blatest[r["bench"]] and r["ratio"] is not None]
    if not sel:
        return None
    lines = ["set terminal pngcairo size %d,%d noenhanced font 'sans,9'" % (WIDTH, 200 + 18 * len(sel)),
             "set output %s" % q(png), "set grid x",
             "set tmargin 3", "set rmargin 8",
             "set label 1 %s at screen 0.5, screen 0.985 center" % q(
                 "ratio to the same-run reference, each benchmark's latest run (dashed: 1 = the reference)"),
             "set style fill solid 0.6", "set yrange [-0.6:%g]" % (len(sel) - 0.4),
             "set xrange [0:*]", "unset key", "$r << EOD"]
    for i, r in enumerate(sel):
        size = " @ {:,}".format(r["ledger_size"]) if r["ledger_size"] is not None else ""
        lines.append("%d %r %s" % (i, r["ratio"], q("%s %s%s / %s" % (
            r["bench"], r["metric"], size, r["reference_metric"]))))
    lines += ["EOD", "set arrow from 1, graph 0 to 1, graph 1 nohead dt 2",
              "plot $r using (0):1:(0):($2):($1 - 0.35):($1 + 0.35):ytic(3) with boxxyerror, \\",
              "     $r using ($2 > 1 ? $2 : 1):1:(sprintf('%.3g', $2)) with labels left offset 0.5,0"]
    return "\n".join(lines) + "\n"


def draw(script, png, workdir):
    """Runs gnuplot on SCRIPT; PNG must then exist and be a PNG."""
    gp = os.path.join(workdir, os.path.basename(png) + ".gp")
    with open(gp, "w", encoding="utf-8") as fh:
        fh.write(script)
    res = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if res.returncode != 0:
        raise BadInput("gnuplot %s failed: %s" % (gp, res.stderr.strip()[-600:]))
    with open(png, "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            raise BadInput("gnuplot wrote %s, but it is not a PNG" % png)


def fmt(v):
    """A figure for the table: thousands separated, 3 significant digits."""
    if v is None:
        return ""
    if abs(v) >= 100:
        return "{:,.0f}".format(v)
    return "{:.3g}".format(v)


def table(rows, blatest, order, runs):
    """Each benchmark's latest run as a Markdown section: `make bench` and
    `make bench-scale` are separate runs, and the later one must not hide
    the other's figures."""
    used = sorted(set(blatest.values()), key=order.index, reverse=True)
    sel = [r for r in rows if r["run_id"] == blatest[r["bench"]]]
    sel.sort(key=lambda r: (used.index(r["run_id"]), r["bench"]))
    out = []
    for run_id in used:
        mine = [r for r in sel if r["run_id"] == run_id]
        benches = sorted({r["bench"] for r in mine})
        out.append("Run `%s` (%s), first figure written %s." % (
            run_id, ", ".join(benches), min(r["date"] for r in mine)))
        for i, run in enumerate(x for x in runs if x["run_id"] == run_id):
            out.append("%s: %s cores (`nproc`), %s (`/proc/cpuinfo` model name); "
                       "1-minute load %s at the start, %s at the end (other work shares the machine). "
                       "Command: `%s`, started %s%s." % (
                           "Machine" if i == 0 else "Then, continuing the run", run["nproc"], run["cpu_model"],
                           run["load_start"], run["load_end"], run["command"], run["date"],
                           "; failed: " + run["failed"] if run["failed"] else ""))
        out.append("")
    out += ["| Bench | Figure | Value | Reference (same run) | Ratio | Ledger size | Load |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in sel:
        ref = "%s %s" % (r["reference_metric"], fmt(r["reference_value"])) if r["reference_metric"] else ""
        out.append("| %s | %s | %s %s | %s | %s | %s | %s |" % (
            r["bench"], r["metric"], fmt(r["value"]), r["unit"], ref,
            "%.3g" % r["ratio"] if r["ratio"] is not None else "",
            "{:,}".format(r["ledger_size"]) if r["ledger_size"] is not None else "",
            fmt(r["load"])))
    return "\n".join(out) + "\n"


def put_in_doc(doc, section):
    """Replaces the text between the markers of DOC by SECTION."""
    with open(doc, encoding="utf-8") as fh:
        text = fh.read()
    b, e = text.find(MARKER_BEGIN), text.find(MARKER_END)
    if b < 0 or e < b:
        raise BadInput("%s: no %s ... %s lines to put the latest run between" % (doc, MARKER_BEGIN, MARKER_END))
    text = text[:b + len(MARKER_BEGIN)] + "\n" + section + text[e:]
    with open(doc, "w", encoding="utf-8") as fh:
        fh.write(text)


def main(argv):
    ap = argparse.ArgumentParser(description="benchmark CSV figures to PNG plots (gnuplot)")
    ap.add_argument("--out", default="docs/bench", help="folder of the PNGs (docs/bench)")
    ap.add_argument("--runs", help="runs.csv: machine, load and command of each run")
    ap.add_argument("--table", help="write the latest run as Markdown to this file")
    ap.add_argument("--doc", help="put the latest run between the markers of this file")
    ap.add_argument("csv", nargs="+", help="figures (the CSV contract)")
    a = ap.parse_args(argv)
    if shutil.which("gnuplot") is None:
        raise BadInput("gnuplot is not installed (scripts/deps.sh installs gnuplot-nox)")
    rows = load_figures(a.csv)
    runs = read_csv(a.runs, RUNS_HEADER, lambda f, w: dict(zip(RUNS_HEADER, f))) if a.runs else []
    order, first = run_order(rows)
    latest = order[-1]
    # each benchmark's latest run: what its figure and its table rows show
    at = {k: i for i, k in enumerate(order)}
    blatest = {}
    for r in rows:
        b = r["bench"]
        if b not in blatest or at[r["run_id"]] > at[blatest[b]]:
            blatest[b] = r["run_id"]
    os.makedirs(a.out, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory(prefix="bench-plots.") as work:
        jobs = [(b, bench_script(b, [r for r in rows if r["bench"] == b], order, first, blatest[b],
                                 os.path.join(a.out, b + ".png")))
                for b in sorted({r["bench"] for r in rows})]
        jobs.append(("memory", memory_script(rows, os.path.join(a.out, "memory.png"))))
        jobs.append(("ratios", ratios_script(rows, blatest, os.path.join(a.out, "ratios.png"))))
        for name, script in jobs:
            if script is not None:
                png = os.path.join(a.out, name + ".png")
                draw(script, png, work)
                made.append(png)
    section = table(rows, blatest, order, runs)
    if a.table:
        with open(a.table, "w", encoding="utf-8") as fh:
            fh.write(section)
    if a.doc:
        put_in_doc(a.doc, section)
    print("bench-plots: %d runs, %d figures; latest run %s; wrote %s" % (
        len(order), len(rows), latest, " ".join(made)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BadInput as e:
        print("bench-plots: %s" % e, file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        print("bench-plots: %s: %s" % (e.filename or "", e.strerror), file=sys.stderr)
        sys.exit(2)
