"""The page in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium) types the seeds' examples into `matcalc serve`'s page and reads what
it shows: the rendered result, the steps, the code tabs, an error with its mark, a
permalink that reloads the same query, the gallery, the check.  Screenshots go to a
temporary folder, or to $MATCALC_SCREENSHOTS (docs/images/ holds two of them).

Skipped, saying why, where Selenium, Chromium or its driver is missing (.ci/run installs
them).  The network is never needed: the browser starts with everything that would call
out switched off, and the page loads only from the local server.
"""
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest

from matcalc import commands, serve

webdriver = pytest.importorskip("selenium.webdriver", reason="Selenium is not installed (pip install selenium; "
                                                             ".ci/run installs the test extra)")
from selenium.webdriver.common.by import By                      # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does)",
                allow_module_level=True)

GALLERY = json.loads((Path(serve.WEB) / "gallery.json").read_text(encoding="utf-8"))
WAIT_SECONDS = 20
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,1400")


@pytest.fixture(scope="module")
def page_server():
    server = serve.make_server("127.0.0.1", 0, time_limit=10.0, workers=2)
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="matcalc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = os.environ.get("MATCALC_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


def cli_result(*argv):
    status, out, _ = commands.answer(["diff", "--format", "json", *argv])
    return json.loads(out)


def wait(driver, condition):
    return WebDriverWait(driver, WAIT_SECONDS).until(lambda d: condition())


def element(driver, name):
    return driver.find_element(By.ID, name)


def open_page(driver, server, **query):
    driver.get(server.url + ("?" + urlencode(query) if query else ""))
    wait(driver, lambda: driver.execute_script("return document.readyState") == "complete")


def type_query(driver, expr, wrt):
    box = element(driver, "expr")
    box.clear()
    box.send_keys(expr)       # new lines included: Enter adds a line in the box
    variable = element(driver, "wrt")
    variable.clear()
    variable.send_keys(wrt)
    element(driver, "differentiate").click()


def shown_result(driver, expected_text):
    """Waits until the page shows the result `expected_text`, and returns it."""
    wait(driver, lambda: element(driver, "result").is_displayed() and element(driver, "text").text == expected_text)
    return element(driver, "text").text


def tex_source(math_element):
    """The LaTeX that KaTeX rendered into an element (KaTeX keeps it in the MathML annotation)."""
    return math_element.find_element(By.CSS_SELECTOR, "annotation[encoding='application/x-tex']") \
        .get_attribute("textContent")


def full_page_screenshot(driver, path):
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(height, 600), 4000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1200, 1400)


def test_least_squares_with_steps_is_rendered(browser, page_server, screenshots):
    expected = cli_result("||y - Phi theta||^2", "theta", "--steps")
    open_page(browser, page_server, expr="||y - Phi theta||^2", wrt="theta", layout="mixed", order=1)
    assert shown_result(browser, expected["result"]) == "-2 Phi^T (y - Phi theta)"
    equation = element(browser, "equation")
    assert equation.find_elements(By.CSS_SELECTOR, ".katex-display .katex-html")   # rendered, not source
    assert tex_source(equation) == expected["equation"]
    assert tex_source(element(browser, "steps")) == expected["steps"]["latex"]
    shown_rules = element(browser, "steps").find_element(By.CSS_SELECTOR, ".katex-html").text
    for rule in ("d-norm-squared", "d-sum", "d-product", "identification"):
        assert rule in shown_rules
    assert element(browser, "description").text == expected["description"]
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "#symbols tbody tr")]
    assert rows == [["y", "vector", "n x 1"], ["Phi", "matrix", "n x m"], ["theta", "vector", "m x 1"]]
    # KaTeX's own fonts came from this server (the CSP allows no other), so the mathematics is typeset
    assert browser.execute_script("return document.fonts.check('20px KaTeX_Main') && "
                                  "[...document.fonts].some(f => f.family === 'KaTeX_Main' && f.status === 'loaded')")
    full_page_screenshot(browser, screenshots / "least-squares-steps.png")


@pytest.mark.parametrize("example", [e for e in GALLERY if e["title"] in (
    "Gradient of a quadratic form", "Chain rule through a curve", "Backprop through W_i", "y = W x by W (a tensor)")],
    ids=lambda e: e["title"])
def test_typed_seed_examples_show_the_command_lines_result(browser, page_server, example):
    expected = cli_result(example["expr"], example["wrt"], "--steps")
    open_page(browser, page_server)
    type_query(browser, example["expr"], example["wrt"])
    shown_result(browser, expected["result"])
    assert tex_source(element(browser, "equation")) == expected["equation"]
    assert tex_source(element(browser, "steps")) == expected["steps"]["latex"]
    assert element(browser, "vec").is_displayed() == (expected["vec"] is not None)
    if expected["vec"] is not None:
        assert element(browser, "vec-text").text == expected["vec"]["result"]


def test_the_code_tabs_show_the_command_lines_code(browser, page_server):
    open_page(browser, page_server, expr="x^T A x", wrt="x", layout="numerator", order=1)
    shown_result(browser, "x^T (A + A^T)")
    code_formats = [f for f in commands.FORMATS if f not in ("text", "latex", "json")]
    tabs = [tab.get_attribute("data-tab") for tab in browser.find_elements(By.CSS_SELECTOR, "[role=tab]")]
    assert tabs == ["latex", *code_formats, "text", "json"] and {"numpy", "sympy"} <= set(code_formats)
    for tab, argv in [*((f, ["--format", f]) for f in code_formats), ("text", ["--steps"])]:
        browser.find_element(By.CSS_SELECTOR, f"[data-tab={tab}]").click()
        expected = commands.answer(["diff", "x^T A x", "x", "--layout", "numerator", *argv])[1]
        wait(browser, lambda: element(browser, "code").get_attribute("textContent") == expected)
    browser.find_element(By.CSS_SELECTOR, "[data-tab=latex]").click()
    latex = element(browser, "code").get_attribute("textContent")
    assert latex.startswith(cli_result("x^T A x", "x", "--layout", "numerator")["equation"])
    assert "\\begin{align*}" in latex
    element(browser, "copy").click()
    wait(browser, lambda: element(browser, "copy").text in ("Copied", "Selected: Ctrl-C copies"))


def test_a_shape_error_is_shown_with_its_place_marked(browser, page_server, screenshots):
    source = "H = W x;\nH + y^T"
    expected = cli_result(source, "x")["error"]
    open_page(browser, page_server)
    type_query(browser, source, "x")
    wait(browser, lambda: element(browser, "error").is_displayed())
    assert element(browser, "error-message").text == "matcalc: " + expected["message"]
    mark = element(browser, "error-place").find_element(By.TAG_NAME, "mark")
    assert mark.text == "+" == expected["source_line"][expected["column"] - 1]
    assert element(browser, "error-place").text.splitlines()[0] == expected["source_line"]
    assert element(browser, "error-where").text == f"line {expected['line']}, column {expected['column']}:" \
        == "line 2, column 3:"
    assert not element(browser, "result").is_displayed()
    box = element(browser, "expr")
    assert "has-error" in box.get_attribute("class")
    at = source.index("+")
    assert browser.execute_script("const b = arguments[0]; return [b.selectionStart, b.selectionEnd]", box) == [at, at + 1]
    full_page_screenshot(browser, screenshots / "shape-error.png")


def test_the_permalink_reloads_the_same_query(browser, page_server):
    open_page(browser, page_server)
    type_query(browser, "scalar a;\na x^T S x", "x")
    element(browser, "symmetric").send_keys("S")
    Select(element(browser, "layout")).select_by_value("numerator")    # a change asks again
    shown_result(browser, "2 a x^T S")
    link = element(browser, "permalink").get_attribute("href")
    assert browser.current_url == link
    open_page(browser, page_server)                                    # away, then back by the link
    browser.get(link)
    shown_result(browser, "2 a x^T S")
    assert element(browser, "expr").get_attribute("value") == "scalar a;\na x^T S x"
    assert Select(element(browser, "layout")).first_selected_option.get_attribute("value") == "numerator"
    assert element(browser, "symmetric").get_attribute("value") == "S"


def test_a_gallery_example_is_one_click(browser, page_server):
    example = next(e for e in GALLERY if e["title"] == "Logistic regression, Hessian")
    expected = cli_result(example["expr"], example["wrt"], "--order", "2")
    open_page(browser, page_server)
    wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, ".example"))
    button = next(b for b in browser.find_elements(By.CSS_SELECTOR, ".example") if example["title"] in b.text)
    button.click()
    shown_result(browser, expected["result"])
    assert element(browser, "order").get_attribute("value") == "2"


@pytest.mark.slow
def test_every_gallery_example_is_one_click(browser, page_server):
    open_page(browser, page_server)
    wait(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, ".example")) == len(GALLERY))
    for position, example in enumerate(GALLERY):
        argv = [example["expr"], example["wrt"]]
        argv += ["--order", str(example["order"])] if "order" in example else []
        argv += ["--symmetric", example["symmetric"]] if "symmetric" in example else []
        browser.find_elements(By.CSS_SELECTOR, ".example")[position].click()
        shown_result(browser, cli_result(*argv)["result"])


def test_the_check_button_shows_the_report(browser, page_server):
    open_page(browser, page_server, expr="x^T A x", wrt="x", layout="mixed", order=1)
    shown_result(browser, "(A + A^T) x")
    element(browser, "check").click()
    report = element(browser, "check-report")
    wait(browser, lambda: report.is_displayed())
    assert report.get_attribute("class") == "passed"
    assert report.text.startswith("Check\nchecked: elementwise SymPy at n=")
    assert "finite differences" in report.text


def test_the_page_asks_nothing_of_another_origin(browser, page_server):
    open_page(browser, page_server, expr="w^T x", wrt="x", layout="mixed", order=1)
    shown_result(browser, "w")
    origins = browser.execute_script("return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert origins and set(origins) == {page_server.url.rstrip("/")}
    refused = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        document.addEventListener('securitypolicyviolation', e => done(e.violatedDirective), {once: true});
        fetch('http://127.0.0.2:9/').catch(() => {});""")
    assert refused == "connect-src"


def test_a_result_without_a_derivation_is_shown_and_says_why(browser, page_server):
    refused = cli_result("W", "x", "W", "--steps")["error"]["message"]
    open_page(browser, page_server, expr="W", wrt="x W", layout="mixed", order=1)
    shown_result(browser, cli_result("W", "x", "W")["result"])
    assert element(browser, "steps").text == "No derivation for this one: " + refused


def test_the_page_answers_as_one_types(browser, page_server):
    open_page(browser, page_server)
    element(browser, "wrt").send_keys("x")
    element(browser, "expr").send_keys("x^T x")        # no click: a pause in typing asks
    shown_result(browser, "2 x")
    element(browser, "expr").send_keys(" + 1^T x")
    shown_result(browser, cli_result("x^T x + 1^T x", "x")["result"])


def test_asking_again_stops_the_computation_nobody_waits_for(browser, page_server):
    workers = set(page_server.workers.processes)
    open_page(browser, page_server)
    order = element(browser, "order")
    order.clear()
    order.send_keys("6")
    type_query(browser, "H1 = tanh(W1 x); H2 = tanh(W2 H1); H3 = tanh(W3 H2); 1/2 ||W4 H3 - y||^2", "x")
    def computing():
        idle = {process for process, _ in page_server.workers.idle.queue}
        return any(process not in idle for process in workers)
    wait(browser, computing)                                # the order-6 Hessian
    order.clear()
    order.send_keys("1")
    type_query(browser, "x^T x", "x")
    shown_result(browser, "2 x")
    # the abandoned computation's worker is killed long before the server's 10 s budget
    WebDriverWait(browser, 5).until(lambda _: any(process.exitcode == -9 for process in workers))
