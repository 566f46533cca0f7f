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
    d.add_argument("wrt", metavar="WRT", help="the variable to differentiate by")
    d.add_argument("--layout", choices=("mixed", "numerator", "denominator"), default="mixed",
                   help="the order of the result's axes (default: mixed)")
    d.add_argument("--order", type=int, choices=(1, 2), default=1,
                   help="2 gives the Hessian of a scalar by a vector")
    d.add_argument("--scalar", action="append", default=[], metavar="NAMES",
                   help="comma-separated names to treat as scalars")
    d.add_argument("--symmetric", action="append", default=[], metavar="NAMES",
                   help="comma-separated names of symmetric matrices")
    d.add_argument("--declare", action="append", default=[], metavar="DECL",
                   help='a declaration such as "x: vector[n]" or "A: matrix[n,m]"')
    d.add_argument("--format", choices=("text", "latex", "json"), default="text",
                   help="how to print the result (default: text)")
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
                 declare=tuple(args.declare))
        report = d.check() if args.check else None
        derivation = d.steps() if args.steps else None
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
        print(json.dumps({"result": str(d), "layout": d.layout, "shape": [str(x) for x in d.shape],
                          "symbols": {s.value[0]: s.value[1] for s in d.analysis.symbols.values()},
                          "latex": d.latex(), "check": report.summary() if report else None,
                          "steps": derivation.text() if derivation else None}))
        return 0
    bold = not args.plain_vectors
    print(d.latex(equation=True, bold_vectors=bold) if args.format == "latex" else str(d))
    print("# " + d.describe())
    if report is not None:
        print("# checked: " + report.summary())
    if derivation is not None:
        print(derivation.latex(bold) if args.format == "latex" else derivation.text())
    return 0


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")   # a terminal without · still gets the result
    try:
        sys.exit(run(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
