"""Answers to command lines: `answer(argv)` is the (exit status, standard output, standard
error) of `matcalc diff ...`, `matcalc codegen ...`, `--help` and `--version`, written nowhere,
so that the command line (cli.py) and the page (serve.py) answer alike.

Contract (docs/cli.md): the first line of standard output is the result alone, in
the expression language; layout, shape and kinds follow on a line starting with
`#`.  Exit status: 0 for a result; 1 when --check finds the result wrong; 2 for
bad input or a refused combination of options (one line, then for a located error the
source line and a caret, on standard error); 70 for an internal error (a bug), which is
one line too, never a traceback.
With --format json every outcome, errors included, is one JSON object on
standard output (docs/json.md, schema 1); the exit status is the same.
An EXPR starting with `-` (`-x`) is the expression unless it is a known option.
`matcalc codegen` prints a Python module computing the value, gradient and Hessian
together (docs/codegen.md).  `matcalc serve` is parsed here and run by cli.py.
"""
from __future__ import annotations

import argparse
import re
import sys

from .version import __version__
from .budget import DEFAULT_SECONDS
from .errors import CheckError, LimitError, MatcalcError

JSON_SCHEMA = 1
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 70    # sysexits.h EX_SOFTWARE
REFERENCE = "docs/language.md"

EXAMPLES = f"""\
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
  matcalc diff "-x^T x" x                        -2 x
  echo "w^T x" | matcalc diff - x

Names starting with a lowercase letter are column vectors, uppercase ones matrices;
declare others with --scalar, --symmetric, --declare or inline: "scalar a; a x^T x".
The language reference is {REFERENCE} in the matcalc repository (the command line:
docs/cli.md, --format json: docs/json.md).
"""

FORMATS = ("text", "latex", "numpy", "jax", "torch", "sympy", "json")
DEFAULT_CODE_SIZE = 100   # codegen_plan.DEFAULT_SIZE, not imported: the CLI starts light
CODE_FORMATS = ("numpy", "jax", "torch")
# (option, the formats it is refused with, why): every other pair is honoured (docs/cli.md)
REFUSED_PAIRS = (
    ("--plain-vectors", ("text", "numpy", "jax", "torch", "sympy"), "it changes LaTeX only (--format latex or json)"),
    ("--vec", ("numpy", "jax", "torch", "sympy"), "the code computes the derivative itself, in its layout; "
                                                  "use --format text, latex or json for the vec form"),
    ("--sizes", ("text", "latex", "sympy", "json"), "the sizes choose the cheapest code: they go with "
                                                    "--format numpy, jax or torch"),
)

# Each option once: argparse is built from this table, and the argument reordering
# below knows from it which options take a value.
_DIFF_OPTIONS = (
    ("--layout", dict(choices=("mixed", "numerator", "denominator"), default="mixed",
                      help="the order of the result's axes (default: mixed)")),
    ("--order", dict(type=int, default=1, metavar="K", help="differentiate K times (2: the Hessian)")),
    ("--time-limit", dict(type=float, default=DEFAULT_SECONDS, metavar="SECONDS",
                          help="give up (exit status 2) after this long, for the derivative and for --check "
                               f"each (default {DEFAULT_SECONDS:g})")),
    ("--vec", dict(action="store_true", help="print the vec (Kronecker) form d vec F / d vec(X)^T")),
    ("--symmetric-as", dict(choices=("gradient", "entries"), default=None,
                            help="by a symmetric S: the symmetric gradient (G + G^T)/2 (default), or "
                                 "S_ij = S_ji taken as one variable, G + G^T - G .* I (the Matrix Cookbook)")),
    ("--scalar", dict(action="append", default=[], metavar="NAMES",
                      help="comma-separated names to treat as scalars")),
    ("--symmetric", dict(action="append", default=[], metavar="NAMES",
                         help="comma-separated names of symmetric matrices")),
    ("--declare", dict(action="append", default=[], metavar="DECL",
                       help='a declaration such as "x: vector[n]" or "A: matrix[n,m]"')),
    ("--assume", dict(action="append", default=[], metavar="EQUATION",
                      help='an equation the result may rest on, such as "sum(y) = 1" (repeatable)')),
    ("--format", dict(choices=FORMATS, default="text",
                      help="how to print the result (default: text); numpy, jax, torch: a Python function "
                           "computing it, sympy: SymPy matrix expressions building it, json: one object "
                           "(docs/json.md)")),
    ("--sizes", dict(default=None, metavar="DIM=N,...",
                     help="with --format numpy|jax|torch: the sizes the code is made fastest for, such as "
                          f"n=1000,k=10 (default {DEFAULT_CODE_SIZE} for each)")),
    ("--check", dict(action="store_true", help="cross-check with elementwise SymPy and finite differences")),
    ("--plain-vectors", dict(action="store_true", help="in LaTeX: vectors as plain letters, not bold")),
    ("--steps", dict(action="store_true",
                     help="show the derivation, one rule per line (with --format latex: an align* block)")),
)
# `matcalc codegen`: the options that say what the expression is, and those of the module
_SHARED = ("--layout", "--time-limit", "--symmetric-as", "--scalar", "--symmetric", "--declare", "--sizes")
_CODEGEN_OPTIONS = tuple(option for option in _DIFF_OPTIONS if option[0] in _SHARED) + (
    ("--value", dict(action="store_true", help="return the function's value")),
    ("--gradient", dict(action="store_true", help="return the gradient (the first derivative)")),
    ("--hessian", dict(action="store_true", help="return the Hessian (the second derivative)")),
    ("--format", dict(choices=CODE_FORMATS, default="numpy", help="the array library (default: numpy)")),
    ("--self-test", dict(action="store_true",
                         help="add self_test(): the derivatives against finite differences at random data")),
    ("--scipy", dict(action="store_true",
                     help="add fun (value, gradient) and hess, as scipy.optimize.minimize takes them")),
)
_OPTIONS = {"diff": _DIFF_OPTIONS, "codegen": _CODEGEN_OPTIONS}
_OPTION_NAMES = {command: tuple(name for name, _ in table) for command, table in _OPTIONS.items()}
_TAKES_VALUE = {command: {name for name, spec in table if spec.get("action") != "store_true"}
                for command, table in _OPTIONS.items()}
_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?", re.S)


class UsageError(MatcalcError):
    """The command line itself is wrong (argparse's complaint, a refused pair of options),
    or its input cannot be read; `usage`, where argparse gave one, is what it prints."""

    def __init__(self, message: str, usage: str | None = None):
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """Errors as UsageError; what --help and --version print kept in `printed` (shared with
    the subcommands' parsers), not written to sys.stdout, so that answers in threads do not
    share one stream."""

    def __init__(self, *args, printed: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.printed = printed

    def error(self, message: str):   # argparse's documented hook: it must not return
        raise UsageError(message, f"{self.format_usage()}{self.prog}: error: {message}")

    def _print_message(self, message: str, file=None) -> None:   # every print of argparse's goes here
        if message:
            self.printed.append(message)


def _parser(printed: list | None = None) -> argparse.ArgumentParser:
    printed = [] if printed is None else printed
    parser = _Parser(prog="matcalc", printed=printed, description="Symbolic matrix calculus: derivatives of matrix expressions.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"matcalc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    d = commands.add_parser("diff", help="differentiate an expression", printed=printed,
                            description="Differentiate EXPR with respect to the variable WRT.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("expression", metavar="EXPR",
                   help="the expression (it may start with -, as in -x); - reads it from standard input")
    d.add_argument("wrt", metavar="WRT", nargs="+",
                   help="the variable to differentiate by; several (x y) differentiate by each in turn")
    for name, spec in _DIFF_OPTIONS:
        d.add_argument(name, **spec)
    g = commands.add_parser("codegen", help="a Python module computing value, gradient and Hessian", printed=printed,
                            description="Print a Python module whose function evaluate(...) returns the "
                                        "value, gradient and Hessian of EXPR by WRT that were asked for "
                                        "(default: --value --gradient), sharing their subexpressions "
                                        "(docs/codegen.md).",
                            epilog=CODEGEN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("expression", metavar="EXPR",
                   help="the expression (it may start with -, as in -x); - reads it from standard input")
    g.add_argument("wrt", metavar="WRT", help="the variable")
    for name, spec in _CODEGEN_OPTIONS:
        g.add_argument(name, **spec)
    serve = commands.add_parser("serve", help="open matcalc as a local web page", printed=printed,
                                description="Serve matcalc's page on this machine (docs/web.md).")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0 picks a free one)")
    serve.add_argument("--open", action="store_true", help="open the page in the web browser")
    serve.add_argument("--time-limit", type=float, default=SERVE_SECONDS, metavar="SECONDS",
                       help="the most time one request may take (default %(default)g s)")
    return parser


SERVE_SECONDS = 10.0

CODEGEN_EXAMPLES = """\
examples:
  matcalc codegen "||y - Phi theta||^2" theta --value --gradient --hessian
  matcalc codegen "sum(log(1 + exp(-y .* (X w))))" w --hessian --sizes n=1000,m=50 --format jax
  matcalc codegen "1/2 x^T A x - b^T x" x --value --gradient --scipy --self-test > quadratic.py
"""   # a page's user waits; the command line's default is for batch work


def _long_option(arg: str, command: str = "diff") -> str | None:
    """The option of a command an argument names, abbreviations resolved as argparse does."""
    name = arg.split("=", 1)[0]
    names = _OPTION_NAMES[command]
    if name in names:
        return name
    matches = [option for option in names if option.startswith(name)]
    return matches[0] if len(matches) == 1 else None


def _positionals_last(args: list, command: str = "diff") -> list:
    """The diff command's arguments with every positional one after `--`.

    argparse reads any argument starting with `-` as an option, so `matcalc diff -x x`
    would lose its expression.  Here only `-h` and `--name[=value]` are options (an
    unknown `--name` stays one, so that argparse names the typo); every other argument
    is positional, and the values of options that take one stay with them."""
    options, positionals = [], []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            positionals.extend(rest)
            break
        if arg == "-h" or _LONG_OPTION.fullmatch(arg):
            options.append(arg)
            if "=" not in arg and _long_option(arg, command) in _TAKES_VALUE[command]:
                value = next(rest, None)
                if value is not None:
                    options.append(value)
            continue
        positionals.append(arg)
    return options + ["--"] + positionals


def _wants_json(argv: list) -> bool:
    """Whether --format json was asked for, so that even a usage error answers in JSON."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return False
        name, _, value = arg.partition("=")
        if _LONG_OPTION.fullmatch(arg) and _long_option(name) == "--format":
            if (value if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")) == "json":
                return True
    return False


def answer(argv: list, ascii_json: bool = False) -> tuple[int, str, str]:
    """(exit status, standard output, standard error) of the command line `argv`, written
    nowhere: the page of `matcalc serve` answers with exactly what the command line prints.
    JSON is UTF-8 text, or escaped to ASCII with ascii_json (for a terminal that is not UTF-8).
    Safe to call from several threads at once: it touches no process-wide stream."""
    as_json = "ascii" if ascii_json else "utf-8"
    if not _wants_json(argv):
        as_json = None
    try:
        status, out, err = _respond(argv, as_json)
    except CheckError as exc:
        status, out, err = _failure(as_json, EXIT_CHECK_FAILED, exc, f"matcalc: check failed: {exc.message}")
    except UsageError as exc:
        status, out, err = _failure(as_json, EXIT_BAD_INPUT, exc, exc.usage or "matcalc: " + exc.message)
    except MatcalcError as exc:
        status, out, err = _failure(as_json, EXIT_BAD_INPUT, exc, "matcalc: " + exc.describe())
    except RecursionError:
        problem = LimitError("input nested too deeply")
        status, out, err = _failure(as_json, EXIT_BAD_INPUT, problem, "matcalc: " + problem.message)
    except MemoryError:
        problem = LimitError("the input is too large: it ran out of memory (try smaller sizes)")
        status, out, err = _failure(as_json, EXIT_BAD_INPUT, problem, "matcalc: " + problem.message)
    except Exception as exc:   # a bug: still one line, and a status that says so
        problem = MatcalcError(f"internal error, please report it: {type(exc).__name__}: {exc}")
        status, out, err = _failure(as_json, EXIT_INTERNAL_ERROR, problem, "matcalc: " + problem.message,
                                    kind="InternalError")
    return status, out, err


def parse_serve(argv: list) -> tuple:
    """(the options of `matcalc serve ...`, or None after --help; what --help printed).
    A wrong option is a UsageError."""
    printed: list = []
    try:
        return _parser(printed).parse_args(argv), ""
    except SystemExit:
        return None, "".join(printed)


def _respond(argv: list, as_json: str | None) -> tuple:
    """(exit status, standard output, standard error) of a command that succeeds; as_json is
    the JSON's encoding ("utf-8" or "ascii"), None for text."""
    if argv[:1] in (["diff"], ["codegen"]):
        argv = [argv[0], *_positionals_last(argv[1:], argv[0])]
    printed: list = []
    try:
        args = _parser(printed).parse_args(argv)
    except SystemExit as done:    # --help and --version print, then exit
        return done.code or 0, "".join(printed), ""
    if args.command == "serve":
        raise UsageError("serve runs a server: start it from the command line, `matcalc serve`")
    if args.command == "codegen":
        return 0, _module(args), ""
    if args.command != "diff":
        raise UsageError("a command is needed", _parser().format_help().rstrip())
    _refuse_pairs(args)
    source = _expression_text(args.expression).strip()
    from .api import diff
    d = diff(source, args.wrt, layout=args.layout, order=args.order,
             scalars=_names(args.scalar), symmetric=_names(args.symmetric),
             declare=tuple(args.declare), symmetric_as=args.symmetric_as or "gradient",
             time_limit=args.time_limit, assume=tuple(args.assume))
    if args.symmetric_as and not any(v.kind == "symmetric" for v in d.variables):
        raise UsageError("--symmetric-as applies to a derivative by a symmetric matrix, and no variable is "
                         "one: declare it with --symmetric S")
    warnings = _absent_names(d, args)
    report = d.check(time_limit=args.time_limit) if args.check else None
    derivation = d.steps() if args.steps else None
    vec = d.vec() if args.vec or d.is_tensor else None
    if as_json:
        return 0, _json_result(as_json, source, args, d, vec, report, derivation, warnings), ""
    shown = _text_result(args, d, vec, report, derivation)
    return 0, shown, "".join(f"matcalc: warning: {w}\n" for w in warnings)


def _module(args) -> str:
    """The source `matcalc codegen` prints."""
    from .api import diff
    from .codegen import module_code
    value = args.value or not (args.gradient or args.hessian)
    gradient = args.gradient or not (args.value or args.hessian)
    source = _expression_text(args.expression).strip()
    options = dict(layout=args.layout, scalars=_names(args.scalar), symmetric=_names(args.symmetric),
                   declare=tuple(args.declare), symmetric_as=args.symmetric_as or "gradient",
                   time_limit=args.time_limit)
    orders = [order for order, wanted in ((1, gradient), (2, args.hessian)) if wanted]
    results = [diff(source, args.wrt, order=order, **options) for order in orders]
    base = results[0] if results else diff(source, args.wrt, **options)
    if args.self_test and base.assumptions:
        raise UsageError(f"--self-test samples random data, where {' and '.join(base.stated)} does not hold")
    return module_code(results, value=value, dialect=args.format, sizes=_sizes(args.sizes),
                       self_test=args.self_test, scipy=args.scipy, base=base)


def _sizes(text: str | None) -> dict:
    """--sizes n=1000,k=10 as {"n": 1000, "k": 10}."""
    sizes = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, equals, number = item.partition("=")
        if not equals or not name.strip().isidentifier() or not number.strip().isdigit() or int(number) < 1:
            raise UsageError(f"--sizes takes DIM=N pairs separated by commas, such as n=1000,k=10, not {item!r}")
        sizes[name.strip()] = int(number)
    return sizes


def _refuse_pairs(args) -> None:
    for option, formats, why in REFUSED_PAIRS:
        if getattr(args, option[2:].replace("-", "_")) and args.format in formats:
            raise UsageError(f"{option} does not go with --format {args.format}: {why}")


def _expression_text(expression: str) -> str:
    if expression != "-":
        return expression
    if sys.stdin is None:
        raise UsageError("standard input is closed: give the expression as an argument instead of -")
    try:
        return sys.stdin.read()
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not text in {exc.encoding}") from None
    except (OSError, ValueError) as exc:   # ValueError: a stream closed under us
        raise UsageError(f"cannot read standard input: {getattr(exc, 'strerror', None) or exc}") from None


def _absent_names(d, args) -> list:
    """A warning for each variable, and each name declared on the command line, that the
    expression does not contain: most often a typo."""
    from .expr import postorder
    present = {node.name for node in postorder(d.function) if node.op == "sym"}
    variables = dict.fromkeys(v.name for v in d.variables)
    warnings = [f"{name} does not occur in the expression: its derivative is 0" for name in variables
                if name not in present]
    declared = [*_names(args.scalar), *_names(args.symmetric),
                *(text.split(":", 1)[0].strip() for text in args.declare if ":" in text)]
    warnings += [f"{name} is declared but does not occur in the expression" for name in dict.fromkeys(declared)
                 if name not in present and name not in variables]
    return warnings


def _text_result(args, d, vec, report, derivation) -> str:
    lines = []
    bold = not args.plain_vectors
    latex = args.format == "latex"
    if args.format in ("numpy", "jax", "torch", "sympy"):
        from .codegen import numpy_code
        from .codegen_sympy import sympy_code
        code = sympy_code(d) if args.format == "sympy" else numpy_code(d, _sizes(args.sizes), args.format)
        lines.append(code.rstrip("\n"))
        lines.append("# " + d.describe())
        if report is not None:
            lines.append("# checked: " + report.summary())
        if derivation is not None:   # as comments, so the output stays a Python file
            lines += ["# " + line for line in derivation.text().splitlines()]
        return "\n".join(lines) + "\n"
    if args.vec:
        lines += [vec.latex(bold) if latex else str(vec), "# " + vec.describe()]
    else:
        lines += [d.latex(equation=True, bold_vectors=bold) if latex else str(d), "# " + d.describe()]
        if vec is not None:
            lines += ["vec form: " + (vec.latex(bold) if latex else str(vec)), "# " + vec.describe()]
    if report is not None:
        lines.append("# checked: " + report.summary())
    if derivation is not None:
        lines.append(derivation.latex(bold) if latex else derivation.text())
    return "\n".join(lines) + "\n"


def _dims(shape) -> list:
    return [dim if isinstance(dim, int) else str(dim) for dim in shape]


def _json_document(encoding: str, ok: bool, **fields) -> str:
    """One JSON object; UTF-8 text as itself, or escaped for an "ascii" stream, so that the
    document stays exact on any terminal."""
    import json
    return json.dumps({"schema": JSON_SCHEMA, "matcalc": __version__, "ok": ok, **fields},
                      ensure_ascii=encoding != "utf-8") + "\n"


def _json_result(encoding: str, source: str, args, d, vec, report, derivation, warnings: list) -> str:
    bold = not args.plain_vectors
    return _json_document(
        encoding, True, expression=source, wrt=list(args.wrt), result=str(d), layout=d.layout, order=d.order,
        shape=_dims(d.shape), tensor=d.is_tensor, description=d.describe(), assumptions=list(d.stated),
        symbols={s.name: {"kind": s.kind, "shape": _dims(s.shape)} for s in d.analysis.symbols.values()},
        latex=d.latex(bold_vectors=bold), equation=d.latex(equation=True, bold_vectors=bold),
        vec=None if vec is None else {"result": str(vec), "shape": _dims(vec.shape), "heading": vec.heading(),
                                      "latex": vec.latex(bold)},
        check=None if report is None else {"summary": report.summary(), "sizes": dict(report.sizes),
                                           "finite_difference_error": report.finite_difference_error},
        steps=None if derivation is None else {"text": derivation.text(), "latex": derivation.latex(bold)},
        warnings=warnings)


def _failure(as_json: str | None, status: int, error: MatcalcError, shown: str, kind: str | None = None) -> tuple:
    """(status, stdout, stderr) for an error: JSON on standard output, or text on standard error."""
    if not as_json:
        return status, "", shown.rstrip("\n") + "\n"
    source_line = None
    if error.source is not None and error.line is not None:
        lines = error.source.splitlines()
        source_line = lines[error.line - 1] if 0 < error.line <= len(lines) else ""
    return status, _json_document(as_json, False, error={
        "type": kind or type(error).__name__, "message": error.message, "line": error.line,
        "column": error.column, "source_line": source_line, "description": shown.rstrip("\n")}), ""


def _names(values: list) -> tuple:
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())
