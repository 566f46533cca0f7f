#!/usr/bin/env python3
"""Benchmarks for matcalc: end-to-end CLI latency and scaling with depth.

    python benchmarks/bench.py            # full run (about a minute on 2 cores)
    python benchmarks/bench.py --quick    # fewer repetitions

Prints Markdown to standard output.  Every figure is given as a ratio against a
baseline measured in the same run, so the numbers compare across machines:

1. End to end: `matcalc diff "x^T A x" x` as a subprocess against a SymPy
   one-shot of the same derivative and against the bare interpreter; which
   heavy libraries the CLI path imports (`python -X importtime`).
2. Scaling: the gradient by W1 of the squared loss of a depth-L tanh network,
   L = 1 .. 64, in-process via `matcalc.diff`, against L = 1; then SymPy on the
   same problem with MatrixSymbols for small L, in a subprocess with a timeout.
3. Tensors: five tensor-valued derivatives (symbolic, any size) and their check(),
   against SymPy's elementwise tensor at 3 x 3.

Only the standard library and the project are used (SymPy only in the child
processes that are being measured).  Every measurement is guarded: a failure is
reported in its table row instead of stopping the run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXPR = "x^T A x"
EXPECTED = "(A + A^T) x"
TARGET_RATIO = 0.3            # matcalc <= 0.3 x the SymPy one-shot
DEPTHS = (1, 2, 4, 8, 16, 32, 64)
TARGET_L64_SECONDS = 1.0
SYMPY_DEPTHS = (1, 2)         # asked for; L = 3 is added to locate a failure
SYMPY_EXTRA_DEPTHS = (3,)
SYMPY_TIMEOUT = 60.0

SYMPY_ONESHOT = (
    "from sympy import Symbol, MatrixSymbol, diff\n"
    "n = Symbol('n'); x = MatrixSymbol('x', n, 1); A = MatrixSymbol('A', n, n)\n"
    "print(diff(x.T*A*x, x))\n"
)

# Which form SymPy 1.14 differentiates: the 1x1 matrix expression gives
# A*x + A.T*x; its [0,0] entry gives 0 (wrong), so the one-shot uses the former.
SYMPY_FORMS_PROBE = (
    "import json, sympy\n"
    "from sympy import Symbol, MatrixSymbol, diff\n"
    "n = Symbol('n'); x = MatrixSymbol('x', n, 1); A = MatrixSymbol('A', n, n)\n"
    "out = {'version': sympy.__version__}\n"
    "for name, f in (('diff(x.T*A*x, x)', lambda: diff(x.T*A*x, x)),\n"
    "                ('diff((x.T*A*x)[0,0], x)', lambda: diff((x.T*A*x)[0, 0], x))):\n"
    "    try:\n"
    "        out[name] = str(f())\n"
    "    except Exception as e:\n"
    "        out[name] = 'raised %s: %s' % (type(e).__name__, (str(e).splitlines() or [''])[0])\n"
    "print(json.dumps(out))\n"
)

# The depth-L network for SymPy, differentiated by W1; the result is then
# evaluated at n=2, m=3 and compared with central finite differences, so that
# "produced a result" also says whether the result is right.
SYMPY_NET = r'''
import json, random, sys, time
L = int(sys.argv[1])
out = {"L": L}
try:
    import sympy
    from sympy import Symbol, MatrixSymbol, Matrix, Float, Array, tanh
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    out["version"] = sympy.__version__
    n, m = Symbol("n"), Symbol("m")
    x = MatrixSymbol("x", n, 1)
    y = MatrixSymbol("y", m, 1)
    W = [MatrixSymbol("W%d" % i, m, n if i == 1 else m) for i in range(1, L + 1)]
    h = W[0] * x
    for Wi in W[1:]:
        h = Wi * ElementwiseApplyFunction(tanh, h)
    r = h - y
    loss = r.T * r                     # ||h - y||^2 as a 1x1 matrix expression
    t0 = time.perf_counter()
    d = loss.diff(W[0])
    out["seconds"] = time.perf_counter() - t0
    out["status"] = "result"
    out["type"] = type(d).__name__
    out["shape"] = str(getattr(d, "shape", "?"))
    text = str(d)
    out["length"] = len(text)
    out["text"] = text[:160]
except Exception as e:
    out["status"] = "raised"
    out["exception"] = type(e).__name__
    out["message"] = (str(e).splitlines() or [""])[0][:200]
    print(json.dumps(out)); sys.exit(0)

# Numerical check of the symbolic result at n=2, m=3.
try:
    N, M = 2, 3
    rng = random.Random(0)
    def rnd(r, c):
        return Matrix(r, c, lambda i, j: Float(rng.uniform(-1, 1)))
    X, Y = rnd(N, 1), rnd(M, 1)
    Ws = [rnd(M, N)] + [rnd(M, M) for _ in W[1:]]
    dims = {n: N, m: M}
    sub = {}
    for S, V in [(x, X), (y, Y)] + list(zip(W, Ws)):
        S2 = S.subs(dims)
        for i in range(V.rows):
            for j in range(V.cols):
                sub[S2[i, j]] = V[i, j]
    arr = Array(d.subs(dims).as_explicit()).subs(sub)
    got = [complex(v).real for v in arr.reshape(len(arr)).tolist()]
    def f(W1):
        hh = W1 * X
        for Wi in Ws[1:]:
            hh = Wi * hh.applyfunc(tanh)
        rr = hh - Y
        return float((rr.T * rr)[0, 0])
    eps, fd = 1e-6, []
    for i in range(M):
        for j in range(N):
            P, Q = Ws[0].copy(), Ws[0].copy()
            P[i, j] += eps; Q[i, j] -= eps
            fd.append((f(P) - f(Q)) / (2 * eps))
    if len(got) != len(fd):
        out["check"] = "entries %d != %d" % (len(got), len(fd))
    else:
        err = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(got, fd))
        out["check"] = ("matches" if err < 1e-5 else "WRONG") + " finite differences (max rel err %.1e)" % err
except Exception as e:
    out["check"] = "could not evaluate: %s: %s" % (type(e).__name__, (str(e).splitlines() or [""])[0][:120])
print(json.dumps(out))
'''

# One depth L of the matcalc scaling run, in a fresh interpreter so that a
# crash (e.g. a stack overflow on deep input) cannot take the benchmark down and
# interned nodes of one depth do not speed up the next.
MATCALC_NET = r'''
import json, statistics, sys, time
sys.path.insert(0, sys.argv[3])
import matcalc
L, reps = int(sys.argv[1]), int(sys.argv[2])
def network(L):
    s = "W1 x"
    for i in range(2, L + 1):
        s = "W%d tanh(%s)" % (i, s)
    return "||%s - y||^2" % s
def dag_nodes(e):
    seen, stack = set(), [e]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(a for a in getattr(node, "args", ()) if hasattr(a, "op"))
    return len(seen)
def tree_nodes(e):
    memo = {}
    def count(node):     # iterative post-order: the unfolded tree size
        stack = [(node, False)]
        while stack:
            n, done = stack.pop()
            if id(n) in memo:
                continue
            kids = [a for a in getattr(n, "args", ()) if hasattr(a, "op")]
            if done:
                memo[id(n)] = 1 + sum(memo[id(a)] for a in kids)
            else:
                stack.append((n, True))
                stack.extend((a, False) for a in kids if id(a) not in memo)
        return memo[id(node)]
    return count(e)
out = {"L": L, "matcalc": matcalc.__file__}
str(matcalc.diff("x^T A x", "x"))           # warm-up: grammar, rules
text = network(L)
times = []
for r in range(reps + 1):
    t0 = time.perf_counter()
    d = matcalc.diff(text, "W1")
    s = str(d)
    times.append(time.perf_counter() - t0)
out["first"] = times[0]
out["median"] = statistics.median(times[1:])
out["length"] = len(s)
out["size"] = d.expr.size
out["dag"] = dag_nodes(d.expr)
out["tree"] = tree_nodes(d.expr)
out["head"] = s[:120]
print(json.dumps(out))
'''


# ----------------------------------------------------------------- helpers

def env():
    e = dict(os.environ)
    e.pop("PYTHONPROFILEIMPORTTIME", None)
    return e


def first_line(text: str, limit: int = 90) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt_s(x) -> str:
    if x is None:
        return "—"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def fmt_ratio(a, b) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    return f"{a / b:.2f}x"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def run_once(argv, timeout=60.0):
    """(seconds, completed process) for one run of argv; raises on failure."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {first_line(p.stderr or p.stdout, 160)}")
    return dt, p


# ----------------------------------------------------------------- part 1

def end_to_end(reps: int, warmups: int) -> None:
    py = sys.executable
    commands = [("bare python: `python -c pass`", [py, "-c", "pass"]),
                (f'matcalc: `python -m matcalc diff "{EXPR}" x`', [py, "-m", "matcalc", "diff", EXPR, "x"])]
    script = shutil.which("matcalc")
    if script:
        commands.append((f'matcalc console script: `{script} diff "{EXPR}" x`', [script, "diff", EXPR, "x"]))
    commands += [("SymPy one-shot: `python -c` diff(x.T*A*x, x)", [py, "-c", SYMPY_ONESHOT]),
                 ("(context) `python -c \"import sympy\"`", [py, "-c", "import sympy"])]

    # Runs are interleaved (one of each command per round) so that drift in
    # machine load affects every command alike.
    times = {name: [] for name, _ in commands}
    output = {}
    error = {}
    for round_ in range(warmups + reps):
        for name, argv in commands:
            if name in error:
                continue
            try:
                dt, p = run_once(argv)
                output[name] = first_line(p.stdout) if p.stdout.strip() else "(no output)"
                if round_ >= warmups:
                    times[name].append(dt)
            except Exception as exc:   # noqa: BLE001 - reported in the table
                error[name] = f"FAILED: {type(exc).__name__}: {first_line(str(exc), 120)}"

    med = {name: (statistics.median(times[name]) if times[name] and name not in error else None)
           for name, _ in commands}
    bare = med[commands[0][0]]
    sym = med["SymPy one-shot: `python -c` diff(x.T*A*x, x)"]

    print(f"## 1. End to end: `matcalc diff \"{EXPR}\" x`\n")
    print(f"Median of {reps} runs after {warmups} warm-ups, runs interleaved; "
          f"`python` is `{sys.executable}` (Python {sys.version.split()[0]}), cwd `{ROOT}`.\n")
    rows = []
    for name, _ in commands:
        if name in error:
            rows.append([name, error[name], "—", "—", "—"])
        else:
            spread = ""
            if len(times[name]) >= 4:
                q = statistics.quantiles(times[name], n=4)
                spread = f" (IQR {q[0]:.4f}–{q[2]:.4f})"
            rows.append([name, f"{med[name]:.4f}{spread}", fmt_ratio(med[name], sym),
                         fmt_ratio(med[name], bare), f"`{output.get(name, '')}`"])
    print(table(["command", "median seconds", "ratio to SymPy one-shot", "ratio to bare python",
                 "first line of output"], rows))
    print()

    for name, _ in commands:
        if name.startswith("matcalc") and name not in error:
            out = output.get(name, "")
            correct = "correct" if out == EXPECTED else f"UNEXPECTED (wanted `{EXPECTED}`)"
            if sym:
                ratio = med[name] / sym
                verdict = "MET" if ratio <= TARGET_RATIO else "NOT MET"
                print(f"- Target matcalc <= {TARGET_RATIO} x SymPy one-shot, {name.split(':')[0]}: "
                      f"{ratio:.2f}x -> **{verdict}**; output {correct}.")
            else:
                print(f"- Target matcalc <= {TARGET_RATIO} x SymPy: cannot tell, the SymPy one-shot failed.")
    if not script:
        print("- No `matcalc` console script on PATH; only `python -m matcalc` was timed.")
    if bare and sym:
        print(f"- Above the interpreter floor: matcalc {fmt_s(med[commands[1][0]] - bare if med[commands[1][0]] else None)}, "
              f"SymPy one-shot {fmt_s(sym - bare)}.")

    try:
        p = subprocess.run([sys.executable, "-c", SYMPY_FORMS_PROBE], cwd=ROOT, env=env(),
                           capture_output=True, text=True, timeout=120)
        probe = json.loads(p.stdout.strip().splitlines()[-1])
        forms = "; ".join(f"`{k}` -> `{v}`" for k, v in probe.items() if k != "version")
        print(f"- SymPy {probe.get('version')} forms probed: {forms}. The one-shot uses the first.")
    except Exception as exc:   # noqa: BLE001
        print(f"- SymPy forms probe failed: {type(exc).__name__}: {first_line(str(exc), 120)}")
    print()
    import_check()


def import_check() -> None:
    print("### Heavy imports on the CLI path\n")
    print(f'`python -X importtime -m matcalc diff "{EXPR}" x`, standard error searched for the '
          "top-level packages `sympy` and `numpy`:\n")
    try:
        p = subprocess.run([sys.executable, "-X", "importtime", "-m", "matcalc", "diff", EXPR, "x"],
                           cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            last = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith("import time:")]
            print(f"- FAILED: exit {p.returncode}: {first_line(last[-1] if last else '', 160)}\n")
            return
        entries = []   # (depth, module, cumulative microseconds)
        for line in p.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = line[len("import time:"):].split("|")
            if len(parts) != 3 or not parts[1].strip().isdigit():
                continue
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            entries.append((depth, name.strip(), int(parts[1])))
        for pkg in ("sympy", "numpy"):
            hits = [i for i, (_, mod, _) in enumerate(entries) if mod == pkg]
            if not hits:
                print(f"- {pkg} imported: no")
                continue
            i = hits[0]
            depth, _, cumulative = entries[i]
            # importtime prints children before their parent: the importer is the
            # next entry at a smaller depth.
            importer = next((mod for d, mod, _ in entries[i + 1:] if d < depth), "?")
            print(f"- {pkg} imported: yes (by `{importer}`, {cumulative / 1000:.0f} ms cumulative)")
        mc = [c for d, mod, c in entries if mod == "matcalc"]
        total = sum(c for d, _, c in entries if d == 1)
        if mc:
            print(f"- (context) `import matcalc` {mc[0] / 1000:.0f} ms cumulative; "
                  f"all imports {total / 1000:.0f} ms.")
        print()
    except Exception as exc:   # noqa: BLE001
        print(f"- FAILED: {type(exc).__name__}: {first_line(str(exc), 160)}\n")


# ----------------------------------------------------------------- part 2

def network(L: int) -> str:
    s = "W1 x"
    for i in range(2, L + 1):
        s = f"W{i} tanh({s})"
    return f"||{s} - y||^2"


def slope(results, key, lo, hi):
    """Growth exponent of results[key] between depths lo and hi (1 = linear)."""
    a, b = results.get(lo), results.get(hi)
    if not a or not b or "error" in a or "error" in b or a[key] <= 0:
        return None
    return math.log(b[key] / a[key]) / math.log(hi / lo)


def scaling(reps: int) -> None:
    print("## 2. Scaling: gradient by W1 of a depth-L tanh network\n")
    print("`||W_L tanh(... tanh(W_1 x)) - y||^2` by `W1`, e.g. L=2: "
          f"`{network(2)}`. Each L in a fresh interpreter (after a warm-up on "
          f"`{EXPR}`); timed: `matcalc.diff(text, \"W1\")` plus `str(d)`, median of {reps} "
          "(the first call is shown apart).\n")
    results = {}
    for L in DEPTHS:
        try:
            p = subprocess.run([sys.executable, "-c", MATCALC_NET, str(L), str(reps), ROOT],
                               cwd=ROOT, env=env(), capture_output=True, text=True, timeout=180)
            if p.returncode != 0:
                raise RuntimeError(f"exit {p.returncode}: "
                                   f"{first_line(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.stdout, 160)}")
            results[L] = json.loads(p.stdout.strip().splitlines()[-1])
        except Exception as exc:   # noqa: BLE001
            results[L] = {"error": f"FAILED: {type(exc).__name__}: {first_line(str(exc), 140)}"}

    base = results.get(1, {})
    rows = []
    for L in DEPTHS:
        r = results[L]
        if "error" in r:
            rows.append([L, r["error"]] + ["—"] * 9)
            continue
        ok = "error" not in base
        rows.append([L, f"{r['median'] * 1000:.2f}", f"{r['first'] * 1000:.2f}",
                     fmt_ratio(r["median"], base.get("median")) if ok else "—",
                     r["length"], fmt_ratio(r["length"], base.get("length")) if ok else "—",
                     f"{r['length'] / L:.1f}", r["size"], f"{r['size'] / L:.1f}",
                     r["dag"], f"{r['dag'] / L:.1f}"])
    print(table(["L", "time ms (median)", "first call ms", "time / L=1", "len(str(d))",
                 "length / L=1", "length / L", "d.expr.size", "size / L",
                 "distinct nodes", "distinct / L"], rows))
    print()
    done = [r for r in results.values() if "error" not in r]
    if done and all(r["size"] == r["tree"] for r in done):
        meaning = ("equals, at every L, the node count of the expression *unfolded as a tree* "
                   "(a shared subexpression counted once per use), not the DAG's node count")
    elif done and all(r["size"] == r["dag"] for r in done):
        meaning = "equals, at every L, the number of distinct DAG nodes"
    else:
        meaning = "matches neither the unfolded tree count nor the distinct-node count at every L"
    print(f"`d.expr.size` {meaning}. \"distinct nodes\" counts the result's distinct node "
          "objects (walking `args` by identity): the true size of the DAG.\n")

    top = results.get(DEPTHS[-1], {})
    if "error" in top:
        print(f"- Target L={DEPTHS[-1]} within {TARGET_L64_SECONDS:.0f} s: cannot tell ({top['error']}).")
    else:
        worst = max(top["median"], top["first"])
        verdict = "MET" if worst <= TARGET_L64_SECONDS else "NOT MET"
        print(f"- Target L={DEPTHS[-1]} within {TARGET_L64_SECONDS:.0f} s: "
              f"{fmt_s(top['median'])} median, {fmt_s(top['first'])} first call -> **{verdict}**.")
    for key, label in (("length", "printed length"), ("size", "d.expr.size (tree size)"),
                       ("dag", "distinct DAG nodes"), ("median", "time")):
        s1, s2 = slope(results, key, 8, 16), slope(results, key, 16, 64)
        if s2 is None:
            print(f"- Growth of {label}: cannot tell.")
            continue
        verdict = ("linear" if s2 <= 1.15 else "super-linear") if key != "median" else (
            "about linear" if s2 <= 1.3 else "super-linear")
        extra = f", L=8..16 exponent {s1:.2f}" if s1 is not None else ""
        print(f"- Growth of {label}: exponent {s2:.2f} between L=16 and L=64{extra} -> {verdict}.")
    l2 = results.get(2, {})
    if "head" in l2:
        print(f"- L=2 result: `{l2['head']}`")
    print()


def sympy_scaling() -> None:
    depths = SYMPY_DEPTHS + SYMPY_EXTRA_DEPTHS
    print("### SymPy on the same problem\n")
    print("MatrixSymbols `W_i`, `x`, `y` with symbolic sizes, tanh elementwise via "
          "`ElementwiseApplyFunction(tanh, ...)`, loss `(h - y).T*(h - y)`, then `.diff(W1)`; "
          f"one subprocess per L with a {SYMPY_TIMEOUT:.0f} s timeout. A result is also evaluated "
          f"at n=2, m=3 and compared with finite differences. L = {SYMPY_DEPTHS} were asked for; "
          f"L = {SYMPY_EXTRA_DEPTHS} is added to locate where SymPy stops.\n")
    rows = []
    for L in depths:
        t0 = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, "-c", SYMPY_NET, str(L)], cwd=ROOT, env=env(),
                               capture_output=True, text=True, timeout=SYMPY_TIMEOUT)
            wall = time.perf_counter() - t0
            if p.returncode != 0 or not p.stdout.strip():
                rows.append([L, "crashed", f"exit {p.returncode}: {first_line(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else '', 120)}",
                             f"{wall:.2f}", "—", "—"])
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            if r["status"] == "result":
                rows.append([L, "produced a result",
                             f"`{r['type']}` of shape {r['shape']}, {r['length']} chars: `{r['text'][:110]}...`",
                             f"{wall:.2f}", f"{r['seconds']:.3f}", r.get("check", "—")])
            else:
                rows.append([L, "raised", f"{r['exception']}: {r['message']}", f"{wall:.2f}", "—", "—"])
        except subprocess.TimeoutExpired:
            rows.append([L, "timed out", f"no answer within {SYMPY_TIMEOUT:.0f} s", f">{SYMPY_TIMEOUT:.0f}", "—", "—"])
        except Exception as exc:   # noqa: BLE001
            rows.append([L, "benchmark error", f"{type(exc).__name__}: {first_line(str(exc), 120)}", "—", "—", "—"])
    print(table(["L", "SymPy outcome", "detail", "subprocess s", "diff() s", "numerical check"], rows))
    print()
    outcome = {row[0]: row[1] for row in rows}
    if 2 in outcome:
        claim = "holds" if outcome[2] != "produced a result" else "does NOT hold as stated"
        print(f"- Claim \"SymPy fails on this at L = 2\": **{claim}** (SymPy at L=2: {outcome[2]}).")
        later = [L for L in depths if L > 2 and outcome.get(L) != "produced a result"]
        if outcome[2] == "produced a result" and later:
            print(f"- SymPy first fails at L = {later[0]} ({outcome[later[0]]}).")
    print()


# ----------------------------------------------------------------- main

# --------------------------------------------------------------------------- 3. tensors
TENSOR_CASES = (      # (expression, variables): the five forms listed in the issue-4 note
    ("W x", ("W",)), ("A X B", ("X",)), ("X^T X", ("X",)), ("X^-1", ("X",)),
    ("tr(X^T A X)", ("X", "X")),
)
TENSOR_SIZE = 3

# One fresh interpreter per case: matcalc's symbolic derivative (diff + vec + index form),
# its check(), and the same tensor from SymPy elementwise at 3 x 3 (the baseline).
TENSOR_RUN = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
import numpy as np, sympy as sp
import matcalc
text, variables, size = sys.argv[1], tuple(sys.argv[2].split(",")), int(sys.argv[4])
t0 = time.perf_counter()
d = matcalc.diff(text, variables)
vec = str(d.vec())
t_vec = time.perf_counter()
index = str(d)
t1 = time.perf_counter()
report = d.check()
t2 = time.perf_counter()
names = sorted(s.value[0] for s in d.analysis.symbols.values())
mats = {n: sp.Matrix(size, size, lambda i, j: sp.Symbol(f"{n}{i}{j}")) for n in names}
env = {n: mats[n] for n in names}
F = {"W x": lambda e: e["W"] * sp.Matrix(size, 1, lambda i, j: sp.Symbol(f"x{i}")),
     "A X B": lambda e: e["A"] * e["X"] * e["B"], "X^T X": lambda e: e["X"].T * e["X"],
     "X^-1": lambda e: e["X"].inv(method="LU"), "tr(X^T A X)": lambda e: (e["X"].T * e["A"] * e["X"]).trace()}[text]
t3 = time.perf_counter()
tensor = F(env)
for v in variables:
    tensor = sp.derive_by_array(tensor, mats[v])
t4 = time.perf_counter()
print(json.dumps({"matcalc": t1 - t0, "vec_only": t_vec - t0, "check": t2 - t1, "sympy": t4 - t3, "vec": vec, "index": index,
                  "entries": report.symbolic + report.numeric}))
"""


def tensors() -> None:
    print("## 3. Tensors and Hessians by a matrix\n")
    print("Each case in a fresh interpreter: matcalc's symbolic result (`diff`, `vec()` and the index "
          f"form, any size) and its `check()`, against SymPy's elementwise tensor at {TENSOR_SIZE} x "
          f"{TENSOR_SIZE} (`derive_by_array` on matrices of symbols), measured in the same run.\n")
    rows = []
    for text, variables in TENSOR_CASES:
        try:
            p = subprocess.run([sys.executable, "-c", TENSOR_RUN, text, ",".join(variables), ROOT,
                                str(TENSOR_SIZE)], cwd=ROOT, env=env(), capture_output=True, text=True,
                               timeout=300)
            if p.returncode != 0:
                raise RuntimeError(first_line(p.stderr.strip().splitlines()[-1], 160))
            r = json.loads(p.stdout.strip().splitlines()[-1])
            rows.append([f"`{text}` by {', '.join(variables)}", f"`{r['vec']}`",
                         f"{r['vec_only'] * 1000:.1f}", f"{r['matcalc'] * 1000:.1f}", f"{r['sympy'] * 1000:.1f}",
                         fmt_ratio(r["matcalc"], r["sympy"]), f"{r['check'] * 1000:.0f}", r["entries"]])
        except Exception as exc:   # noqa: BLE001
            rows.append([f"`{text}`", f"FAILED: {type(exc).__name__}: {first_line(str(exc), 120)}"] + ["—"] * 6)
    print(table(["input", "vec form", "diff + vec ms", "diff + vec + index form ms (any size)", f"SymPy {TENSOR_SIZE}x{TENSOR_SIZE} ms",
                 "all / SymPy", "check() ms", "entries checked"], rows))
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    reps, warmups, scale_reps = (5, 1, 3) if args.quick else (15, 2, 5)

    started = time.perf_counter()
    print("# matcalc benchmarks\n")
    print(f"{'Quick' if args.quick else 'Full'} run · {os.cpu_count()} CPUs · "
          f"Python {sys.version.split()[0]} · {sys.platform}\n")
    for part in (lambda: end_to_end(reps, warmups), lambda: scaling(scale_reps), sympy_scaling, tensors):
        try:
            part()
        except Exception:   # noqa: BLE001 - one part failing must not hide the other
            print("FAILED:\n```\n" + traceback.format_exc() + "```\n")
    print(f"_Total benchmark time {time.perf_counter() - started:.1f} s._")


if __name__ == "__main__":
    main()
