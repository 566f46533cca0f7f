"""Printing tensor-valued results: the index form against the derivative itself.

For every tensor-valued derivative of the identity table (tests/test_identities.py) and
a few networks, times `matcalc.diff` and then `str(d)` (the index form, or the vec form
where index notation is refused), and prints both totals and their ratio.  Issue 12 saw
printing take 100 times as long as differentiating (SymPy's symbolic sums); the index
form is now read entry by entry from dF (matcalc/index_form.py).

    python benchmarks/printing.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

NETWORKS = [
    ("u1 = tanh(W1 x); u2 = tanh(W2 u1); ||u2 - y||^2", ("W1", "W2")),
    ("H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2", ("W1", "W2")),
    ("tanh(W2 tanh(W1 x))", ("W1",)), ("inv(X^T X) X^T y", ("X",)), ("A X B X^T", ("X",)),
]


def main() -> None:
    import matcalc
    import test_identities
    cases = [(r.expr, (r.wrt,), r.decl) for r in test_identities.ROWS]
    cases += [(h[1], tuple(h[2]), h[5]) for h in test_identities.HIGHER]
    cases += [(text, wrt, {}) for text, wrt in NETWORKS]
    str(matcalc.diff("W x", "W"))                  # imports and caches outside the timing
    differentiating = printing = 0.0
    count = 0
    for text, wrt, declarations in cases:
        start = time.perf_counter()
        d = matcalc.diff(text, wrt, **declarations)
        middle = time.perf_counter()
        if not d.is_tensor:
            continue
        str(d)
        end = time.perf_counter()
        differentiating += middle - start
        printing += end - middle
        count += 1
    print(f"{count} tensor-valued results: differentiating {differentiating:.3f} s, "
          f"printing {printing:.3f} s, ratio {printing / differentiating:.2f}")


if __name__ == "__main__":
    main()
