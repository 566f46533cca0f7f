"""Printing tensor-valued results against computing them (issue 9, item 5).

The corpus: every tensor-valued derivative of the identity table (tests/test_identities.py:
vector by matrix, matrix by matrix, Hessians by matrices and derivatives in turn), the
Hessians by a matrix the issue names and a few networks, each in all three layouts.  For
each case `matcalc.diff` (computing) and each printing (`str(d)`: the index form or the vec
form where index notation is refused; `d.latex()`; `str(d.vec())`) are timed in alternating
samples, and the ratio printing / computing is the median sample of each over the median of
computing (and, less sensitive to other work on the machine, the fastest over the fastest).  Printed: the median and the worst ratios of each printing, and the worst cases.
Issue 9 saw `str(d)` of the Hessian of det(X^T A X) by X take 7 to 16 s (SymPy's symbolic
sums) against 0.14 s to compute; the index form is now read entry by entry from dF
(matcalc/index_form.py).

    python benchmarks/printing.py [--samples 7] [--quick]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

LAYOUTS = ("mixed", "numerator", "denominator")
EXTRA = [
    ("det(X^T A X)", ("X", "X")), ("logdet(X)", ("X", "X")), ("tr(A X B X^T)", ("X", "X")),
    ("||A X - B||_F^2", ("X", "X")), ("tr(inv(X))", ("X", "X")), ("det(X)", ("X", "X")),
    ("sum(tanh(W x))", ("W", "W")),
    ("u1 = tanh(W1 x); u2 = tanh(W2 u1); ||u2 - y||^2", ("W1", "W2")),
    ("H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", ("W1", "W2")),
    ("tanh(W2 tanh(W1 x))", ("W1",)), ("inv(X^T X) X^T y", ("X",)), ("A X B X^T", ("X",)),
    ("softmax(W x + b)", ("W",)), ("X^-1", ("X",)), ("X^T A X", ("X",)),
]
PRINTINGS = {
    "text": str,
    "latex": lambda d: d.latex(),
    "vec": lambda d: str(d.vec()),
}


def corpus() -> list:
    import test_identities
    cases = [(r.expr, (r.wrt,), r.decl) for r in test_identities.ROWS]
    cases += [(h[1], tuple(h[2]), h[5]) for h in test_identities.HIGHER]
    cases += [(text, wrt, {}) for text, wrt in EXTRA]
    return cases


def measure(cases, samples: int) -> list:
    """[(case, layout, computing seconds, {printing: seconds})], medians of alternating samples."""
    import matcalc
    rows = []
    for text, wrt, declarations in cases:
        for layout in LAYOUTS:
            try:
                d = matcalc.diff(text, wrt, layout=layout, **declarations)
            except matcalc.MatcalcError:
                continue
            if not d.is_tensor:
                break
            computing, printing = [], {name: [] for name in PRINTINGS}
            gc.collect()
            gc.disable()          # as timeit does: a collection is a pause in whichever sample it falls
            try:
                timed(d, text, wrt, layout, declarations, samples, computing, printing)
            finally:
                gc.enable()
            rows.append((f"{text} by {', '.join(wrt)}", layout, statistics.median(computing),
                         {name: statistics.median(times) for name, times in printing.items()},
                         min(computing), {name: min(times) for name, times in printing.items()}))
    return rows


def timed(d, text, wrt, layout, declarations, samples, computing, printing) -> None:
    import matcalc
    for _ in range(samples):
        start = time.perf_counter()
        d = matcalc.diff(text, wrt, layout=layout, **declarations)
        computing.append(time.perf_counter() - start)
        for name, show in PRINTINGS.items():
            start = time.perf_counter()
            show(d)
            printing[name].append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="the extra cases only, 3 samples")
    args = parser.parse_args()
    import matcalc
    str(matcalc.diff("W x", "W")), matcalc.diff("W x", "W").latex()     # imports and caches outside the timing
    cases = [(text, wrt, {}) for text, wrt in EXTRA] if args.quick else corpus()
    rows = measure(cases, 3 if args.quick else args.samples)
    print(f"{len(rows)} tensor-valued results (case x layout), {args.samples if not args.quick else 3} "
          f"alternating samples each; ratio = printing / computing (medians)")
    total = sum(r[2] for r in rows)
    print(f"  computing: total {total:.3f} s, median {statistics.median(r[2] for r in rows) * 1e3:.1f} ms")
    for name in PRINTINGS:
        ratios = [r[3][name] / r[2] for r in rows]
        fastest = [r[5][name] / r[4] for r in rows]
        worst = max(range(len(rows)), key=lambda k: ratios[k])
        print(f"  {name:5}: total {sum(r[3][name] for r in rows):.3f} s, ratio median {statistics.median(ratios):.2f}, "
              f"max {ratios[worst]:.2f} ({rows[worst][0]}, {rows[worst][1]}: "
              f"{rows[worst][3][name] * 1e3:.1f} ms against {rows[worst][2] * 1e3:.1f} ms); "
              f"ratio of the fastest samples: median {statistics.median(fastest):.2f}, max {max(fastest):.2f}")
    everything = sorted(rows, key=lambda r: -sum(r[3].values()) / r[2])[:5]
    print("  the five largest ratios of all printings together:")
    for case, layout, computing, printing, _, _ in everything:
        shown = ", ".join(f"{name} {t * 1e3:.1f}" for name, t in printing.items())
        print(f"    {sum(printing.values()) / computing:5.2f}  {case} ({layout}): computing {computing * 1e3:.1f} ms; "
              f"printing ms: {shown}")


if __name__ == "__main__":
    main()
