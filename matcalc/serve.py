"""`matcalc serve`: matcalc's page and its JSON endpoint, on this machine (docs/web.md).

Contract:
- `GET /` is the page (matcalc/web/index.html), `GET /static/NAME` its assets, every one
  shipped in the package: the page makes no request to another origin, and its
  Content-Security-Policy forbids the browser to make one.
- `GET /api/diff?expr=...&wrt=...` (or a POST with the same parameters form-encoded in
  the body) answers exactly what `matcalc diff EXPR WRT... --format json` prints, errors
  included (docs/json.md): the parameters become options of `commands.answer`, the
  expression and the variables always after `--`, so no request reads standard input or
  passes an option the table below does not name.  `format=text|latex|numpy|...` gives
  that format's output as plain text instead; `GET /api/formats` lists the formats.
- Nothing from a request is evaluated as code: the expression is text for the engine's
  parser.  A request line, a query or a body past its size limit, an unknown parameter
  and a busy server are refused with a JSON error of the same schema; an internal failure
  is one line, never a traceback.
- Each request computes in one of `WORKERS` worker processes under the time budget of
  the command line's --time-limit (a request may ask for less, never more); the engine
  stops at the budget with a LimitError, and a worker that has not answered shortly after
  is killed and replaced, the request answered with that error all the same.  A request
  that finds every worker busy waits a moment, then is told so.
- Requests are answered only for a Host header naming the address it listens on
  (the loopback names when it is a loopback one), which defeats DNS rebinding.
"""
from __future__ import annotations

import ipaddress
import json
import multiprocessing
import multiprocessing.connection
import queue
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .version import __version__
from .errors import MatcalcError

WEB = Path(__file__).resolve().parent / "web"
MAX_QUERY_BYTES = 16 * 1024      # a long multi-line expression fits; a flood does not
MAX_BODY_BYTES = 16 * 1024
WORKERS = 4                      # computations at once: more would only share the same cores
BUSY_WAIT_SECONDS = 2.0          # how long a request waits for a free computation before 503
GRACE_SECONDS = 2.0              # past the budget, before a computation that did not stop is given up
SOCKET_TIMEOUT_SECONDS = 30      # an idle or trickling connection is closed after this
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# the types of the files matcalc/web ships, fixed here: with nosniff a browser trusts them,
# and mimetypes' answers change with the system's tables
CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".json": "application/json",
                 ".svg": "image/svg+xml", ".woff2": "font/woff2"}

# URL parameter -> (command-line option, how the value is given); "flag" options take
# 1/true/yes/on; "names" and "text" may be repeated.  Every other parameter is refused.
PARAMETERS = {
    "layout": ("--layout", "text"), "order": ("--order", "text"), "symmetric": ("--symmetric", "names"),
    "scalar": ("--scalar", "names"), "declare": ("--declare", "names"), "symmetric_as": ("--symmetric-as", "text"),
    "steps": ("--steps", "flag"), "check": ("--check", "flag"), "vec": ("--vec", "flag"),
    "plain_vectors": ("--plain-vectors", "flag"), "format": ("--format", "text"),
    "time_limit": ("--time-limit", "text"),
}
REPEATABLE = {"symmetric", "scalar", "declare"}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; "
                           "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
HTTP_STATUS = {0: HTTPStatus.OK, 1: HTTPStatus.UNPROCESSABLE_ENTITY, 2: HTTPStatus.BAD_REQUEST,
               70: HTTPStatus.INTERNAL_SERVER_ERROR}


class RequestError(MatcalcError):
    """A request the page cannot answer: too large, an unknown parameter, a busy server;
    `status` is its HTTP status and `kind` its type in the JSON error (docs/json.md)."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST, kind: str = "UsageError"):
        super().__init__(message)
        self.status = status
        self.kind = kind


def error_document(kind: str, message: str) -> str:
    """A JSON error of schema 1 (docs/json.md) for a refusal that never reached the command line."""
    return json.dumps({"schema": 1, "matcalc": __version__, "ok": False, "error": {
        "type": kind, "message": message, "line": None, "column": None, "source_line": None,
        "description": "matcalc: " + message}}, ensure_ascii=False) + "\n"


def command_line(query: dict) -> list:
    """The `matcalc diff` argument list of a request's parameters (lists of strings, as
    parse_qs gives them), with --format json unless `format` names another format."""
    unknown = sorted(set(query) - set(PARAMETERS) - {"expr", "wrt"})
    if unknown:
        raise RequestError(f"unknown parameter {unknown[0]!r}: the parameters are expr, wrt, "
                           + ", ".join(PARAMETERS))
    for name, values in query.items():
        if len(values) > 1 and name not in REPEATABLE:
            raise RequestError(f"the parameter {name!r} is given {len(values)} times: give it once")
    expression = query.get("expr", [""])[0].strip()
    variables = query.get("wrt", [""])[0].replace(",", " ").split()
    if not expression:
        raise RequestError("the parameter expr (the expression) is missing or empty")
    if expression == "-":   # the command line would read standard input: a page has none
        raise RequestError("expr '-' means standard input on the command line: give the expression itself")
    if not variables:
        raise RequestError("the parameter wrt (the variable to differentiate by) is missing or empty")
    options = [] if "format" in query else ["--format=json"]
    for name, values in query.items():
        if name in ("expr", "wrt"):
            continue
        option, form = PARAMETERS[name]
        for value in values:
            if form == "flag":
                if value.lower() not in TRUE_WORDS + FALSE_WORDS:
                    raise RequestError(f"the parameter {name!r} is 1 or 0, not {value!r}")
                if value.lower() in TRUE_WORDS:
                    options.append(option)
            elif form == "names" and not value.strip():
                continue     # an empty field of the page's form: nothing declared
            else:
                options.append(f"{option}={value}")
    return ["diff", *options, "--", expression, *variables]


def budget_of(query: dict, time_limit: float) -> float:
    """The request's time budget: what it asks (`time_limit`), at most the server's."""
    asked = query.get("time_limit", [None])[0]
    if asked is None:
        return time_limit
    try:
        seconds = float(asked)
    except ValueError:
        raise RequestError(f"time_limit is a number of seconds, not {asked!r}") from None
    if not 0 < seconds <= time_limit:
        raise RequestError(f"time_limit is more than 0 and at most this server's {time_limit:g} s, not {asked}")
    return seconds


class Workers:
    """`count` worker processes, each answering one command line at a time.

    Processes, not threads: the engine is pure Python, and threads beside slow
    computations wait for the interpreter lock (benchmarks/serve_load.py: a fast query
    took 430 ms beside three slow ones in threads); processes share the cores as the
    system schedules them.  A worker still computing past its request's deadline, or
    one that died, is killed and replaced, so no computation outlives its budget."""

    def __init__(self, count: int):
        self.context = multiprocessing.get_context("spawn")   # no fork of a threaded server
        self.idle = queue.Queue()
        self.count = count
        self.processes = set()       # every worker alive, idle or computing
        self.closed = False
        with _ctrl_c_ignored():   # a terminal's Ctrl-C reaches the whole group: the server ends the workers
            for _ in range(count):
                self.idle.put(self._start())

    def _start(self) -> tuple:
        mine, theirs = self.context.Pipe()
        process = self.context.Process(target=work, args=(theirs,), name="matcalc-worker", daemon=True)
        process.start()
        theirs.close()
        self.processes.add(process)
        return process, mine

    def answer(self, argv: list, seconds: float, client: socket.socket | None = None) -> tuple:
        """commands.answer(argv) in a worker, given `seconds` of budget: (status, stdout, stderr).
        A `client` that closes its connection meanwhile (a page that asked again) stops the
        computation: ClientGone."""
        try:
            worker = self.idle.get(timeout=BUSY_WAIT_SECONDS)
        except queue.Empty:
            raise RequestError(f"the server is busy with {self.count} computations: try again in a moment",
                               HTTPStatus.SERVICE_UNAVAILABLE, kind="LimitError") from None
        process, connection = worker
        # the derivative and --check each have the budget (the command line's contract)
        deadline = time.monotonic() + seconds * (2 if "--check" in argv else 1) + GRACE_SECONDS
        watched = [connection] if client is None else [connection, client]
        try:
            connection.send(argv)
            while True:
                ready = multiprocessing.connection.wait(watched, timeout=max(0.0, deadline - time.monotonic()))
                if connection in ready:
                    outcome = connection.recv()
                    self.idle.put(worker)
                    return outcome
                if not ready:
                    problem = RequestError(f"gave up after the time limit of {seconds:g} s: the expression is too "
                                           f"large to finish in time", HTTPStatus.SERVICE_UNAVAILABLE,
                                           kind="LimitError")
                    break
                if _closed(client):
                    problem = ClientGone()
                    break
                watched = [connection]    # the client sent its next request early: it waits its turn
        except (EOFError, OSError):   # the worker died under the computation (the system ended it)
            problem = RequestError("the computation ended its process (out of memory?): try smaller sizes",
                                   HTTPStatus.SERVICE_UNAVAILABLE, kind="LimitError")
        self._replace(process, connection)
        raise problem

    def _replace(self, process, connection) -> None:
        process.kill()
        process.join()
        connection.close()
        self.processes.discard(process)
        if not self.closed:
            self.idle.put(self._start())

    def close(self) -> None:
        """End every worker, computing or not."""
        self.closed = True
        for process in list(self.processes):
            process.kill()
            process.join()
        self.processes.clear()


class ClientGone(Exception):
    """The client closed its connection before its answer was ready: nobody to answer."""


def _closed(client: socket.socket) -> bool:
    """Whether a readable client socket was closed by its peer (rather than sent more)."""
    try:
        return client.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:      # reset by the peer
        return True


@contextmanager
def _ctrl_c_ignored():
    """SIGINT ignored in the body, where the main thread can set it (a process started
    meanwhile keeps it ignored: Python leaves an ignored SIGINT alone at start-up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def work(connection) -> None:
    """A worker process: answers each command line it receives until the server goes."""
    from .commands import answer
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a replacement was started off the main thread
    warm_up()
    while True:
        try:
            argv = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(answer(argv))


class Handler(BaseHTTPRequestHandler):
    """One request: the page, an asset, or the JSON endpoint."""

    server_version = f"matcalc/{__version__}"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_SECONDS
    protocol_version = "HTTP/1.1"
    wbufsize = -1     # headers and a small body leave in one packet, flushed after each response

    def setup(self):
        super().setup()
        # a kept-alive connection would otherwise wait for the client's delayed ACK (40 ms) each time
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._respond(lambda: self._route(urlsplit(self.path), body=None))

    def do_HEAD(self):
        self._respond(lambda: self._route(urlsplit(self.path), body=None), head=True)

    def do_POST(self):
        self._respond(lambda: self._route(urlsplit(self.path), body=self._body()))

    def _respond(self, route, head: bool = False):
        try:
            self._allowed_host()
            status, content_type, content = route()
        except ClientGone:
            self.close_connection = True
            return
        except RequestError as exc:
            status, content_type, content = exc.status, "application/json", error_document(exc.kind, exc.message)
        except Exception as exc:   # a bug: one line for the user, never a traceback
            self.log_error("internal error: %s: %s", type(exc).__name__, exc)
            status, content_type = HTTPStatus.INTERNAL_SERVER_ERROR, "application/json"
            content = error_document("InternalError", f"internal error, please report it: {type(exc).__name__}")
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        self.send_response(status)
        if content_type.startswith(("text/", "application/json")):
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _allowed_host(self):
        if self.server.host_names is None:
            return
        host = (self.headers.get("Host") or "").strip().lower()
        name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
        if name not in self.server.host_names:
            raise RequestError(f"this server answers for {self.server.host_names[0]} only, not {host or 'no Host'}",
                               HTTPStatus.MISDIRECTED_REQUEST)

    def _body(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestError("a POST needs a Content-Length", HTTPStatus.LENGTH_REQUIRED)
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True   # the body is not read: the connection cannot be reused
            raise RequestError(f"the request body is {length} bytes, more than the {MAX_BODY_BYTES} allowed",
                               HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return _form(self.rfile.read(int(length)))

    def _route(self, url, body: dict | None) -> tuple:
        if len(url.query.encode("utf-8")) > MAX_QUERY_BYTES:
            raise RequestError(f"the query is more than the {MAX_QUERY_BYTES} bytes allowed: "
                               f"POST it to /api/diff instead", HTTPStatus.REQUEST_URI_TOO_LONG)
        if url.path == "/api/diff":
            return self._diff(body if body is not None else _form(url.query.encode("utf-8")))
        if body is not None:
            raise RequestError("only /api/diff takes a POST", HTTPStatus.METHOD_NOT_ALLOWED)
        if url.path == "/api/formats":
            from .commands import FORMATS
            return HTTPStatus.OK, "application/json", json.dumps({"formats": list(FORMATS)})
        if url.path in ("/", "/index.html"):
            return HTTPStatus.OK, "text/html", (WEB / "index.html").read_bytes()
        asset = self.server.assets.get(url.path)
        if asset is None:
            raise RequestError(f"there is no page {url.path!r} here", HTTPStatus.NOT_FOUND)
        return HTTPStatus.OK, CONTENT_TYPES.get(asset.suffix, "text/plain"), asset.read_bytes()

    def _diff(self, query: dict) -> tuple:
        argv = command_line(query)
        seconds = budget_of(query, self.server.time_limit)
        if "time_limit" not in query:
            argv.insert(1, f"--time-limit={seconds:g}")
        status, out, err = self.server.workers.answer(argv, seconds, client=self.connection)
        if "format" not in query or query["format"] == ["json"]:
            return HTTP_STATUS.get(status, HTTPStatus.BAD_REQUEST), "application/json", out
        return HTTP_STATUS.get(status, HTTPStatus.BAD_REQUEST), "text/plain", out + err

    def log_message(self, format, *args):
        if self.server.log:
            sys.stderr.write(f"matcalc serve: {self.address_string()} {format % args}\n"[:500])


def _form(data: bytes) -> dict:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("the parameters are not UTF-8 text") from None
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except ValueError as exc:   # more fields than max_num_fields
        raise RequestError(f"the parameters cannot be read: {exc}") from None


class Server(ThreadingHTTPServer):
    """The HTTP server, with the settings its handlers read."""

    daemon_threads = True

    def __init__(self, host: str, port: int, time_limit: float, log: bool, workers: int):
        self.time_limit = time_limit
        self.log = log
        self.assets = {"/static/" + path.relative_to(WEB).as_posix(): path
                       for path in WEB.rglob("*") if path.is_file() and path.name != "index.html"}
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.workers = None          # started once the address is bound (a refused one closes at once)
        super().__init__((host, port), Handler)
        self.workers = Workers(workers)
        # a page reached by another machine is reached by any name: only loopback is guarded
        self.host_names = (host.lower(), *LOOPBACK_NAMES) if is_loopback(host) else None

    def server_close(self):
        super().server_close()
        if self.workers is not None:
            self.workers.close()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]   # a connection reset, mostly: one line, never a traceback
        if self.log:
            sys.stderr.write(f"matcalc serve: {client_address[0]}: {type(exc).__name__}: {exc}\n")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def is_loopback(host: str) -> bool:
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(host: str = "127.0.0.1", port: int = 0, time_limit: float = 10.0, log: bool = False,
                workers: int = WORKERS) -> Server:
    """A server listening on host:port (0: a free port), its workers started, not yet serving;
    its `url` says where, and `server_close()` ends the workers.  The workers start as
    multiprocessing's spawn starts processes, importing the main module again: a script that
    calls this keeps its own work under `if __name__ == "__main__":` (the command line does)."""
    if not time_limit > 0:
        raise MatcalcError(f"--time-limit is a positive number of seconds, not {time_limit:g}")
    try:
        return Server(host, port, time_limit, log, workers)
    except OSError as exc:
        raise MatcalcError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def warm_up() -> None:
    """Import the engine and its code generation in a worker before its first request, so
    that the first query answers as fast as the others (SymPy waits for the first check)."""
    from .commands import answer
    answer(["diff", "--format=numpy", "--", "x^T x", "x"])


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, time_limit: float = 10.0) -> int:
    """Serve the page until interrupted (Ctrl-C); returns the exit status, 0."""
    server = make_server(host, port, time_limit, log=True)
    print(f"matcalc: serving the page on {server.url} (Ctrl-C stops it)", flush=True)
    if not is_loopback(host):
        print(f"matcalc: warning: {host} is not a loopback address: other machines can reach the page", flush=True)
    if open_browser:
        import webbrowser
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        with _ctrl_c_ignored():   # a second Ctrl-C must not break off the clean-up
            server.server_close()
    return 0
