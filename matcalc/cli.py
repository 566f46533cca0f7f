"""The command line: `matcalc diff EXPR WRT [options]`, `matcalc codegen EXPR WRT [options]`,
`matcalc serve`, `matcalc --version` (docs/cli.md).

The answer to a command line comes from commands.py; this module is the process around
it: it writes the answer (output that cannot be written is exit status 2; when the reader
of standard output goes away, `matcalc ... | head`, the process ends silently by SIGPIPE,
as other Unix filters do) and runs the one command that is not an answer, the page's
server (serve.py).
"""
from __future__ import annotations

import codecs
import os
import sys

from .commands import EXIT_BAD_INPUT, UsageError, answer, parse_serve
from .errors import MatcalcError


def run(argv: list) -> int:
    """Run the command line `argv` (without the program name); returns the exit status."""
    if argv[:1] == ["serve"]:
        return _serve(argv)
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    status, out, err = answer(argv, ascii_json=codecs.lookup(encoding).name != "utf-8")
    if err:
        _write_error(err)
    return _write_output(out, status)


def _serve(argv: list) -> int:
    try:
        args, printed = parse_serve(argv)
    except UsageError as exc:
        _write_error((exc.usage or "matcalc: " + exc.message).rstrip("\n") + "\n")
        return EXIT_BAD_INPUT
    if args is None:      # --help
        return _write_output(printed, 0)
    from .serve import serve
    try:
        return serve(args.host, args.port, open_browser=args.open, time_limit=args.time_limit)
    except MatcalcError as exc:     # the port is taken, the address is not this machine's
        _write_error(f"matcalc: {exc.describe()}\n")
        return EXIT_BAD_INPUT


def _write_error(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):   # no standard error to tell: the status still says it
        pass


def _write_output(text: str, status: int) -> int:
    if sys.stdout is None:
        if text:
            _write_error("matcalc: standard output is closed\n")
            return EXIT_BAD_INPUT
        return status
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _end_by_sigpipe()
    except (OSError, ValueError) as exc:      # /dev/full, a closed file
        _silence_stdout()
        _write_error(f"matcalc: cannot write the output: {getattr(exc, 'strerror', None) or exc}\n")
        return EXIT_BAD_INPUT
    return status


def _silence_stdout() -> None:
    """Point standard output at devnull, so the interpreter's last flush cannot fail again
    (the recipe of the Python documentation, signal module, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        sys.stdout = None


def _end_by_sigpipe() -> None:
    """The reader of standard output has gone: end silently, as SIGPIPE ends a Unix filter
    (status 141 in a shell).  Python ignores SIGPIPE, so it is restored and raised here."""
    _silence_stdout()
    import signal
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(1)     # no SIGPIPE (Windows): the status the Python documentation gives


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")   # a terminal without · still gets the result
    try:
        sys.exit(run(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
