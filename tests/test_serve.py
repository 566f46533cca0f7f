"""`matcalc serve` over a real socket on a free loopback port: the JSON endpoint answers
what the command line prints, refuses what it must, cuts a slow request off while a fast
one is answered, and sends its Content-Security-Policy with everything."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from matcalc import cli, commands, serve

GALLERY = json.loads((Path(serve.WEB) / "gallery.json").read_text(encoding="utf-8"))
# an order-6 Hessian of a three-layer network: minutes of work, far past any budget here
SLOW_EXPRESSION = "H1 = tanh(W1 x); H2 = tanh(W2 H1); H3 = tanh(W3 H2); 1/2 ||W4 H3 - y||^2"


def start(**settings):
    server = serve.make_server("127.0.0.1", 0, **settings)
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    return server, thread


def stop(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def server():
    """One server for the module: its worker processes take a second to start."""
    server, thread = start(time_limit=10.0, workers=2)
    yield server
    stop(server, thread)


@pytest.fixture
def start_server():
    """A function starting a server of the test's own; every one started is stopped after the test."""
    running = []

    def start_one(**settings):
        running.append(start(**settings))
        return running[-1][0]
    yield start_one
    for server, thread in running:
        stop(server, thread)


def request(server, method, target, body=None, headers=None):
    """(status, headers, body text) of one request to the server."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


def get(server, path, **parameters):
    return request(server, "GET", path + ("?" + urlencode(parameters, doseq=True) if parameters else ""))


def cli_json(*argv):
    status, out, err = commands.answer(["diff", "--format", "json", *argv])
    assert err == ""
    return status, json.loads(out)


def gallery_argv(example):
    argv = [example["expr"], example["wrt"], "--steps"]
    if "order" in example:
        argv += ["--order", str(example["order"])]
    if "symmetric" in example:
        argv += ["--symmetric", example["symmetric"]]
    return argv


def gallery_parameters(example):
    return {**{k: v for k, v in example.items() if k not in ("group", "title")}, "steps": 1}


@pytest.mark.parametrize("example", GALLERY, ids=[e["title"] for e in GALLERY])
def test_every_gallery_example_is_answered_with_the_command_lines_json(server, example):
    status, headers, body = get(server, "/api/diff", **gallery_parameters(example))
    cli_status, expected = cli_json(*gallery_argv(example))
    assert (status, cli_status) == (200, 0)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == expected
    assert expected["ok"] and expected["steps"]["latex"].startswith("\\begin{align*}")


@pytest.mark.parametrize("parameters, argv", [
    ({"expr": "x^T A x", "wrt": "x", "layout": "numerator"}, ["x^T A x", "x", "--layout", "numerator"]),
    ({"expr": "x^T S x", "wrt": "x", "symmetric": "S"}, ["x^T S x", "x", "--symmetric", "S"]),
    ({"expr": "a x^T x", "wrt": "x", "scalar": "a"}, ["a x^T x", "x", "--scalar", "a"]),
    ({"expr": "tr(A S)", "wrt": "S", "symmetric": "S", "symmetric_as": "entries"},
     ["tr(A S)", "S", "--symmetric", "S", "--symmetric-as", "entries"]),
    ({"expr": "x^T A y", "wrt": "x y"}, ["x^T A y", "x", "y"]),
    ({"expr": "x^T A y", "wrt": "x,y"}, ["x^T A y", "x", "y"]),
    ({"expr": "-x^T x", "wrt": "x"}, ["-x^T x", "x"]),                   # an expression that starts with -
    ({"expr": "--layout", "wrt": "x"}, ["--", "--layout", "x"]),         # never read as an option
    ({"expr": "x^T x", "wrt": "x", "check": 1}, ["x^T x", "x", "--check"]),
    ({"expr": "A X B", "wrt": "X", "vec": "true"}, ["A X B", "X", "--vec"]),
    ({"expr": "x^T x", "wrt": "x", "steps": 0}, ["x^T x", "x"]),
    ({"expr": "x: vector[n]; y: vector[n]; x^T y", "wrt": "x", "declare": "A: matrix[n,n]"},
     ["x: vector[n]; y: vector[n]; x^T y", "x", "--declare", "A: matrix[n,n]"]),
])
def test_options_mean_what_they_mean_on_the_command_line(server, parameters, argv):
    status, _, body = get(server, "/api/diff", **parameters)
    cli_status, expected = cli_json(*argv)
    assert json.loads(body) == expected
    assert status == serve.HTTP_STATUS[cli_status]


@pytest.mark.parametrize("parameters, argv, kind", [
    ({"expr": "x + y^T", "wrt": "x"}, ["x + y^T", "x"], "ShapeError"),
    ({"expr": "x^T (A x", "wrt": "x"}, ["x^T (A x", "x"], "ParseError"),
    ({"expr": "x^T A x", "wrt": "x", "layout": "sideways"}, ["x^T A x", "x", "--layout", "sideways"], "UsageError"),
    ({"expr": "x^T A x", "wrt": "x", "order": "two"}, ["x^T A x", "x", "--order", "two"], "UsageError"),
])
def test_errors_are_the_command_lines_json_with_the_place(server, parameters, argv, kind):
    status, _, body = get(server, "/api/diff", **parameters)
    cli_status, expected = cli_json(*argv)
    assert json.loads(body) == expected
    assert (status, cli_status, expected["error"]["type"]) == (400, 2, kind)


def test_a_shape_error_names_its_line_and_column(server):
    _, _, body = get(server, "/api/diff", expr="scalar a;\nx + a y^T", wrt="x")
    error = json.loads(body)["error"]
    assert (error["line"], error["column"], error["source_line"]) == (2, 3, "x + a y^T")
    assert error["description"].endswith("x + a y^T\n    ^")


@pytest.mark.parametrize("parameters, message", [
    ({"wrt": "x"}, "expr (the expression) is missing"),
    ({"expr": "  ", "wrt": "x"}, "expr (the expression) is missing"),
    ({"expr": "x^T x"}, "wrt (the variable to differentiate by) is missing"),
    ({"expr": "-", "wrt": "x"}, "standard input"),
    ({"expr": "x^T x", "wrt": "x", "bogus": "1"}, "unknown parameter 'bogus'"),
    ({"expr": "x^T x", "wrt": "x", "layout": ["mixed", "numerator"]}, "'layout' is given 2 times"),
    ({"expr": "x^T x", "wrt": "x", "steps": "maybe"}, "'steps' is 1 or 0"),
    ({"expr": "x^T x", "wrt": "x", "time_limit": "11"}, "at most this server's 10 s"),
    ({"expr": "x^T x", "wrt": "x", "time_limit": "soon"}, "time_limit is a number of seconds"),
])
def test_requests_the_command_line_cannot_take_are_refused_in_the_same_schema(server, parameters, message):
    status, _, body = get(server, "/api/diff", **parameters)
    document = json.loads(body)
    assert status == 400
    assert document["schema"] == 1 and document["ok"] is False
    assert document["error"]["type"] == "UsageError" and message in document["error"]["message"]
    assert document["error"]["description"] == "matcalc: " + document["error"]["message"]


def test_other_formats_are_the_command_lines_text(server):
    for fmt in ("numpy", "sympy", "latex", "text"):
        status, headers, body = get(server, "/api/diff", expr="x^T A x", wrt="x", format=fmt, steps=1)
        expected = commands.answer(["diff", "x^T A x", "x", "--format", fmt, "--steps"])
        assert (status, body) == (200, expected[1] + expected[2])
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
    status, _, body = get(server, "/api/diff", expr="x + y^T", wrt="x", format="text")
    assert (status, body) == (400, commands.answer(["diff", "x + y^T", "x"])[2])


def test_the_formats_are_the_command_lines(server):
    status, _, body = get(server, "/api/formats")
    assert (status, json.loads(body)) == (200, {"formats": list(commands.FORMATS)})


def test_a_post_answers_as_a_get(server):
    form = urlencode({"expr": "||y - Phi theta||^2", "wrt": "theta", "steps": "1"})
    status, _, body = request(server, "POST", "/api/diff", body=form,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    assert json.loads(body) == cli_json("||y - Phi theta||^2", "theta", "--steps")[1]


def test_queries_and_bodies_past_the_limit_are_refused_unread(server):
    long_expression = " + ".join(["x"] * (serve.MAX_QUERY_BYTES // 3))
    status, _, body = get(server, "/api/diff", expr=long_expression, wrt="x")
    assert status == 414 and "POST it" in json.loads(body)["error"]["message"]
    form = urlencode({"expr": long_expression, "wrt": "x"})
    assert len(form) > serve.MAX_BODY_BYTES
    status, _, body = request(server, "POST", "/api/diff", body=form,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and f"more than the {serve.MAX_BODY_BYTES} allowed" in json.loads(body)["error"]["message"]
    status, _, _ = request(server, "POST", "/", body="expr=x")
    assert status == 405


def test_a_slow_query_is_cut_off_while_a_fast_one_is_answered(server):
    slow = {}

    def ask_slow():
        slow["answer"] = get(server, "/api/diff", expr=SLOW_EXPRESSION, wrt="x", order=6, time_limit=1)
    worker = threading.Thread(target=ask_slow)
    worker.start()
    time.sleep(0.3)            # the slow one is computing
    fast = get(server, "/api/diff", expr="x^T A x", wrt="x")
    slow_was_running = worker.is_alive()
    worker.join(30)
    assert fast[0] == 200 and json.loads(fast[2])["result"] == "(A + A^T) x"
    assert slow_was_running, "the fast query waited for the slow one"
    status, _, body = slow["answer"]
    error = json.loads(body)["error"]
    assert status in (400, 503)
    assert error["type"] == "LimitError" and "time limit of 1 s" in error["message"]


def test_a_request_may_ask_for_less_time_than_the_server_gives(server):
    started = time.monotonic()
    status, _, body = get(server, "/api/diff", expr=SLOW_EXPRESSION, wrt="x", order=6, time_limit="0.5")
    assert status == 400 and "time limit of 0.5 s" in json.loads(body)["error"]["message"]
    assert time.monotonic() - started < 10, "the request's own time_limit was not used"


def test_a_busy_server_says_so(start_server, monkeypatch):
    monkeypatch.setattr(serve, "BUSY_WAIT_SECONDS", 0.2)
    server = start_server(workers=1)
    worker = threading.Thread(target=get, args=(server, "/api/diff"),
                              kwargs=dict(expr=SLOW_EXPRESSION, wrt="x", order=6, time_limit=1))
    worker.start()
    time.sleep(0.3)
    status, _, body = get(server, "/api/diff", expr="x^T x", wrt="x")
    worker.join(30)
    assert status == 503 and "busy" in json.loads(body)["error"]["message"]


def test_a_worker_past_its_deadline_is_killed_and_replaced(start_server, monkeypatch):
    monkeypatch.setattr(serve, "GRACE_SECONDS", -0.5)     # the deadline comes before the engine stops
    server = start_server(workers=1)
    first, _ = server.workers.idle.queue[0]
    status, _, body = get(server, "/api/diff", expr=SLOW_EXPRESSION, wrt="x", order=6, time_limit=1)
    assert status == 503 and "gave up after the time limit of 1 s" in json.loads(body)["error"]["message"]
    assert not first.is_alive() and first.exitcode == -9
    status, _, body = get(server, "/api/diff", expr="x^T A x", wrt="x")
    assert (status, json.loads(body)["result"]) == (200, "(A + A^T) x")
    assert server.workers.idle.queue[0][0].pid != first.pid


def test_a_client_that_goes_away_stops_its_computation(start_server):
    server = start_server(workers=1)
    first, _ = server.workers.idle.queue[0]
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/api/diff?" + urlencode({"expr": SLOW_EXPRESSION, "wrt": "x", "order": 6,
                                                        "time_limit": 8}))
    deadline = time.monotonic() + 5
    while server.workers.idle.qsize() and time.monotonic() < deadline:   # until the worker has the query
        time.sleep(0.02)
    time.sleep(0.2)
    connection.close()            # a page that asked again: nobody waits for this answer
    # sooner than the 8 s of its budget, on a loaded machine too; the server's thread reaps the
    # process (a join here could race it for the exit status), so its exit code is awaited
    deadline = time.monotonic() + 6
    while first.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.exitcode == -9
    status, _, body = get(server, "/api/diff", expr="x^T A x", wrt="x")
    assert (status, json.loads(body)["result"]) == (200, "(A + A^T) x")


def test_closing_the_server_ends_every_worker_even_a_computing_one():
    server, thread = start(workers=2)
    processes = [process for process, _ in server.workers.idle.queue]
    asking = threading.Thread(target=lambda: get(server, "/api/diff", expr=SLOW_EXPRESSION, wrt="x", order=6,
                                                 time_limit=5))
    asking.start()
    deadline = time.monotonic() + 5
    while server.workers.idle.qsize() != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.workers.idle.queue) == 1    # one computing
    stop(server, thread)
    assert not any(process.is_alive() for process in processes)
    asking.join(10)


def test_an_internal_error_is_one_line_never_a_traceback(server, monkeypatch):
    def broken(query):
        raise KeyError("a bug")
    monkeypatch.setattr(serve, "command_line", broken)
    status, _, body = get(server, "/api/diff", expr="x^T x", wrt="x")
    error = json.loads(body)["error"]
    assert (status, error["type"]) == (500, "InternalError")
    assert "Traceback" not in body and "\n" not in error["message"]


def test_every_response_forbids_other_origins(server):
    for path in ("/", "/static/app.js", "/static/katex/katex.min.css", "/api/diff?expr=x&wrt=x", "/nowhere"):
        _, headers, _ = get(server, path)
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'"
        assert all(value == "'self'" for name, value in policy.items()
                   if name.endswith("-src") and name != "default-src"), policy
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_and_its_assets_are_all_served_here(server):
    status, headers, page = get(server, "/")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert references and all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    fonts = re.findall(r"url\(([^)]+\.woff2)\)", get(server, "/static/katex/katex.min.css")[2])
    assert len(fonts) == 20
    for ref in references + ["/static/katex/" + font for font in fonts] + ["/static/gallery.json"]:
        status, headers, _ = request(server, "HEAD", ref)
        assert status == 200, ref
    assert request(server, "HEAD", "/static/katex/fonts/KaTeX_Main-Regular.woff2")[1]["Content-Type"] == "font/woff2"


@pytest.mark.parametrize("path", ["/static/../serve.py", "/static/%2e%2e/serve.py", "/../../etc/passwd",
                                  "/static/", "/static/web/index.html"])
def test_nothing_outside_the_pages_files_is_served(server, path):
    status, _, body = get(server, path)
    assert status == 404 and json.loads(body)["error"]["type"] == "UsageError"


def test_another_host_name_is_refused(server):
    status, _, body = request(server, "GET", "/api/diff?expr=x&wrt=x", headers={"Host": "attacker.example:8000"})
    assert status == 421 and "attacker.example" in json.loads(body)["error"]["message"]
    port = server.server_address[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert request(server, "GET", "/", headers={"Host": host})[0] == 200


def group_ends(group: int, seconds: float = 10) -> bool:
    """Whether every process of the group has ended within `seconds` (multiprocessing's
    resource tracker ends a moment after the server, when its pipe closes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_matcalc_serve_prints_its_address_answers_there_and_ends_cleanly_on_ctrl_c():
    process = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        first = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert url, first
        parts = urlsplit(url.group(0))
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request("GET", "/api/diff?" + urlencode({"expr": "w^T x", "wrt": "x"}))
        assert json.loads(connection.getresponse().read())["result"] == "w"
        connection.close()
    finally:   # a terminal's Ctrl-C: SIGINT to every process of the group, workers included
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert group_ends(process.pid), "a worker outlived the server"


@pytest.mark.slow
def test_ctrl_c_pressed_again_and_again_leaves_no_worker_behind():
    process = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    process.stdout.readline()
    for _ in range(5):
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.02)
    out, err = process.communicate(timeout=30)
    assert process.returncode in (0, -signal.SIGINT, 130)     # interrupted while it ended: as a shell would say
    # a Ctrl-C landing in the interpreter's own teardown may make it say "Exception ignored"; never from matcalc
    assert "/matcalc/" not in err, err
    assert group_ends(process.pid), "a worker outlived the server"


@pytest.mark.slow
def test_the_installed_wheel_serves_the_page_and_answers_every_gallery_example(tmp_path):
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "-w", str(tmp_path), "-q"],
                   check=True, capture_output=True)
    site = tmp_path / "site"
    zipfile.ZipFile(next(tmp_path.glob("*.whl"))).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0"], cwd=elsewhere,
                               env={**os.environ, "PYTHONPATH": str(site)}, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        parts = urlsplit(re.search(r"http://\S+/", process.stdout.readline()).group(0))
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

        def fetch(target):
            connection.request("GET", target)
            response = connection.getresponse()
            return response.status, response.read()
        status, page = fetch("/")
        assert (status, page) == (200, (site / "matcalc" / "web" / "index.html").read_bytes())
        for reference in re.findall(r'(?:src|href)="(/[^"]+)"', page.decode()):
            assert fetch(reference)[0] == 200, reference
        for example in GALLERY:
            status, body = fetch("/api/diff?" + urlencode(gallery_parameters(example)))
            assert status == 200 and json.loads(body)["ok"], example["title"]
        connection.close()
    finally:
        process.terminate()
        process.wait(30)


def test_a_port_in_use_is_one_line_and_status_2(server, capsys):
    status = cli.run(["serve", "--port", str(server.server_address[1])])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("matcalc: cannot listen on 127.0.0.1:") and err.count("\n") == 1


def test_serve_is_a_command_line_not_an_answer():
    status, out, err = commands.answer(["serve"])
    assert (status, out) == (2, "") and "matcalc serve" in err and err.count("\n") == 1


def test_docs_web_md_names_every_parameter_and_the_policy_sent():
    page = (Path(__file__).resolve().parent.parent / "docs" / "web.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)`", page, re.M)) | {
        name for row in re.findall(r"^\| (`\w+`(?:, `\w+`)+) \|", page, re.M) for name in re.findall(r"`(\w+)`", row)}
    assert {"expr", "wrt", *serve.PARAMETERS} <= documented
    assert f"Content-Security-Policy `{serve.CONTENT_SECURITY_POLICY}`" in " ".join(page.split())
