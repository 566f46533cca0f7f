"""The command line: `matcalc diff EXPR WRT [options]`.

Contract: the first line of standard output is the result alone, in the
expression language; layout, shape and kinds follow on a line starting with
`#`.  Bad input prints one line and the source with a caret under the place
to standard error and exits with status 2; a failed --check exits with 1.
"""
from __future__ import annotations

import argparse
import sys

from .errors import CheckError, MatcalcError

EXAMPLES = """\
examples:
  matcalc diff "x^T A x" x                       (A + A^T) x
  matcalc diff "x^T A x" x --layout numerator    x^T (A + A^T)
  matcalc diff "x^T S x" x --symmetric S         2 S x
  matcalc diff "||y - Phi theta||^2" theta --check
  matcalc diff "||y - Phi theta||^2" theta --steps   (the derivation, rule by rule)
  matcalc diff "tr(X^T A X)" X
  matcalc diff "W x" W                           ∂(W x)_i/∂W_jk = δ_ij x_k, and its vec form
  matcalc diff "A X B" X --vec                   kron(B^T, A)
  matcalc diff "x^T A y" x y                     A (by x, then by y)
  matcalc diff "scalar t; x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2)" t
  echo "w^T x" | matcalc diff - x
  matcalc diff -- "-x^T x" x                     (a leading minus needs --)

Names starting with a lowercase letter are column vectors, uppercase ones matrices;
declare others with --scalar, --symmetric, --declare or inline: "scalar a; a x^T x".
The language is described in SYNTAX.md.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matcalc", description="Symbolic matrix calculus: derivatives of matrix expressions.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    d = commands.add_parser("diff", help="differentiate an expression",
                            description="Differentiate EXPR with respect to the variable WRT.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("expression", metavar="EXPR", help="the expression; - reads it from standard input")
    d.add_argument("wrt", metavar="WRT", nargs="+",
                   help="the variable to differentiate by; several (x y) differentiate by each in turn")
    d.add_argument("--layout", choices=("mixed", "numerator", "denominator"), default="mixed",
                   help="the order of the result's axes (default: mixed)")
    d.add_argument("--order", type=int, default=1, metavar="K",
                   help="differentiate K times (2: the Hessian)")
    d.add_argument("--vec", action="store_true",
                   help="print the vec (Kronecker) form d vec F / d vec(X)^T")
    d.add_argument("--symmetric-as", choices=("gradient", "entries"), default="gradient",
                   help="by a symmetric S: the symmetric gradient (G + G^T)/2 (default), or S_ij = S_ji "
                        "taken as one variable, G + G^T - G .* I (the Matrix Cookbook)")
    d.add_argument("--scalar", action="append", default=[], metavar="NAMES",
                   help="comma-separated names to treat as scalars")
    d.add_argument("--symmetric", action="append", default=[], metavar="NAMES",
                   help="comma-separated names of symmetric matrices")
    d.add_argument("--declare", action="append", default=[], metavar="DECL",
                   help='a declaration such as "x: vector[n]" or "A: matrix[n,m]"')
    d.add_argument("--format", choices=("text", "latex", "numpy", "sympy", "json"), default="text",
                   help="how to print the result (default: text); numpy: a Python function computing it, "
                        "sympy: SymPy matrix expressions building it")
    d.add_argument("--check", action="store_true",
                   help="cross-check with elementwise SymPy and finite differences")
    d.add_argument("--plain-vectors", action="store_true",
                   help="with --format latex: vectors as plain letters, not bold")
    d.add_argument("--steps", action="store_true",
                   help="show the derivation, one rule per line (with --format latex: an align* block)")
    return parser


def _names(values: list) -> tuple:
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


def run(argv: list) -> int:
    args = _parser().parse_args(argv)
    if args.command != "diff":
        _parser().print_help()
        return 2
    text = sys.stdin.read() if args.expression == "-" else args.expression
    from .derivative import diff
    try:
        d = diff(text.strip(), args.wrt, layout=args.layout, order=args.order,
                 scalars=_names(args.scalar), symmetric=_names(args.symmetric),
                 declare=tuple(args.declare), symmetric_as=args.symmetric_as)
        report = d.check() if args.check else None
        derivation = d.steps() if args.steps else None
        vec = d.vec() if args.vec or d.is_tensor else None
        result = str(d)
        code = _code(d, args.format)
    except CheckError as exc:
        print(f"matcalc: check failed: {exc.message}", file=sys.stderr)
        return 1
    except MatcalcError as exc:
        print("matcalc: " + exc.describe(), file=sys.stderr)
        return 2
    except RecursionError:
        print("matcalc: input nested too deeply", file=sys.stderr)
        return 2
    if args.format == "json":
        import json
        print(json.dumps({"result": result, "layout": d.layout, "shape": [str(x) for x in d.shape],
                          "symbols": {s.value[0]: s.value[1] for s in d.analysis.symbols.values()},
                          "latex": d.latex(), "check": report.summary() if report else None,
                          "steps": derivation.text() if derivation else None,
                          "vec": str(vec) if vec else None}))
        return 0
    if code is not None:
        print(code + "# " + d.describe())
        return 0
    bold = not args.plain_vectors
    latex = args.format == "latex"
    if args.vec:
        print(vec.latex(bold) if latex else str(vec))
        print("# " + vec.describe())
    else:
        print(d.latex(equation=True, bold_vectors=bold) if latex else result)
        print("# " + d.describe())
        if vec is not None:
            print("vec form: " + (vec.latex(bold) if latex else str(vec)))
            print("# " + vec.describe())
    if report is not None:
        print("# checked: " + report.summary())
    if derivation is not None:
        print(derivation.latex(bold) if args.format == "latex" else derivation.text())
    return 0


def _code(d, form: str):
    if form not in ("numpy", "sympy"):
        return None
    from .emit_code import numpy_code, sympy_code
    return numpy_code(d) if form == "numpy" else sympy_code(d)


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")   # a terminal without · still gets the result
    try:
        sys.exit(run(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
