"""Fuzzing with an independent generator: random well-shaped programs, judged by their own oracle.

tests/fuzz_grammar.py generates programs over the language of SYNTAX.md as trees it can
evaluate itself with NumPy (never through matcalc).  For each generated program, a
variable that occurs in it and a random layout:

1. the derivative `matcalc.diff(...).evaluate(point)` equals central finite differences of
   the generator's own evaluation, with the layout's shape and axis order; the only
   exceptions allowed are MatcalcError subclasses (a refusal, counted in the statistics);
2. what matcalc prints reads back: `parse(str(d))` (with the same declarations) evaluates
   to `d.evaluate`, and both `parse(text)` and `parse(str(parse(text)))` to the text's
   value as the generator computes it;
3. the code of `matcalc.codegen.numpy_code(d)`, executed here (matcalc's output, never
   user text), gives `d.evaluate`;
4. random edits of valid texts make parse and diff raise MatcalcError or succeed, never
   anything else, within LIMIT seconds; odd arguments and values (None, 3 for a name, NaN,
   complex, ragged arrays, seed "a") too, and a value that is missing, not finite or
   complex is never evaluated;
5. `d.check()` accepts the derivatives the finite differences confirm and rejects those
   they refute, starting from what the user typed; and it rejects a result R changed to
   R + (1 + R .* R)/7.

Every matcalc call runs in a forked worker under a wall-clock limit (fuzz_grammar.Guard).
The budget: MATCALC_FUZZ_EXAMPLES examples per property (default below, for about a
minute in all on two cores); the generation is derandomized, so a run is reproducible.
"""
import os

import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st

import fuzz_grammar as fuzz

EXAMPLES = int(os.environ.get("MATCALC_FUZZ_EXAMPLES", "120"))
LIMIT = 5.0           # seconds for parse, diff and printing of one (mutated) input
CASE_LIMIT = 10.0     # seconds for all the questions about one generated program (parse, diff,
                      # printing, evaluation, read-back, code)
CHECK_LIMIT = 30.0    # seconds for the same and check(), which builds SymPy matrices

SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def guard():
    worker = fuzz.Guard()
    yield worker
    worker.stop()


@st.composite
def cases(draw, max_depth=4):
    """(program, variable, layout, seed for the point, order, second variable or None).
    One case in five is a second derivative by variables of at most four entries (not
    symmetric): by the same one (order=2, or named twice) or mixed, by two."""
    program = draw(fuzz.programs(max_depth=max_depth))
    candidates = program.used_symbols() + program.extra
    variable = draw(st.sampled_from(candidates)) if candidates else None
    small = [v for v in candidates if len(fuzz.axis_shape(program.symbols[v][1])) <= 1
             or program.symbols[v] == ("matrix", ("2", "2"))]
    order, second = 1, None
    if variable in small and draw(st.integers(0, 4)) == 0:
        order = 2
        if draw(st.booleans()):
            second = draw(st.sampled_from(small))
    return program, variable, draw(st.sampled_from(fuzz.LAYOUTS)), draw(st.integers(0, 2**31)), order, second


def _run(guard, case, properties, code=False, check=False, tamper=False):
    program, variable, layout, seed, order, second = case
    note(f"text: {program.text!r}, by {variable}{', ' + second if second else ''}, {layout} layout, "
         f"order {order}")
    if variable is None:
        event("no variable in the program")
        return
    found = fuzz.point_for(program, variable, layout, seed, order, second)
    if found is None:
        event("no point where the function is smooth enough to judge")
        return
    env, value, expected = found
    values = fuzz.matcalc_values(program, env)
    out = guard.run({"text": program.text, "preamble": program.preamble, "declarations": program.options,
                     "variable": variable,
                     "second": second, "layout": layout, "order": order, "values": values, "code": code, "check": check,
                     "tamper": tamper},
                    CHECK_LIMIT if check else CASE_LIMIT)
    if fuzz.refusal(out):
        event(f"refused: {fuzz.refusal(out)[:40]}")
    problems = [p for p in fuzz.judge(out, value, expected, values, order) if p[0] in properties]
    assert not problems, "\n".join(f"[{kind}] {what}" for kind, what in problems) + \
        f"\ntext: {program.text!r}\nby {variable}, {layout} layout, at {values}"


def _known_cases():
    """Inputs of issue 12's table, as generator trees: each case is run first, every time."""
    F, N = fuzz, fuzz.Node
    x, s = N("sym", (), ("n", "1"), "x", F.ATOM, "x"), N("sym", (), F.SCALAR, "s", F.ATOM, "s")
    y = N("sym", (), ("m", "m"), "Y", F.ATOM, "Y")
    symbols = {"x": ("vector", ("n", "1")), "s": ("scalar", F.SCALAR), "Y": ("matrix", ("m", "m"))}
    square = N("epow", (x,), x.shape, "x .^ 2", F.POWER, 2)
    folded = N("sum", (N("epow", (square,), x.shape, "(x .^ 2) .^ 0.5", F.POWER, 0.5),), F.SCALAR,
               "sum((x .^ 2) .^ 0.5)", F.ATOM)
    xx = N("mul", (N("T", (x,), ("1", "n"), "x^T", F.POSTFIX), x), F.SCALAR, "x^T x", F.PRODUCT)
    cancel = N("tr", (N("mul", (N("inv", (y,), y.shape, "inv(Y)", F.ATOM), y), y.shape, "inv(Y) Y", F.PRODUCT),),
               F.SCALAR, "tr(inv(Y) Y)", F.ATOM)
    scaled = N("mul", (xx, cancel), F.SCALAR, "x^T x tr(inv(Y) Y)", F.PRODUCT)
    power = N("spow", (N("fun", (s,), F.SCALAR, "exp(s)", F.ATOM, "exp"), N("sum", (x,), F.SCALAR, "sum(x)", F.ATOM)),
              F.SCALAR, "exp(s)^(sum(x))", F.POWER)
    zero = N("logsumexp", (N("sub", (x, x), x.shape, "x - x", F.SUM),), F.SCALAR, "logsumexp(x - x)", F.ATOM)
    sized = N("mul", (zero, N("epow", (s,), F.SCALAR, "s^2", F.POWER, 2)), F.SCALAR, "logsumexp(x - x) s^2",
              F.PRODUCT)
    declarations = ["x: vector[n]", "s: scalar", "Y: matrix[m,m]"]
    for body, variable in ((folded, "x"), (scaled, "x"), (power, "x"), (sized, "s")):
        names = {node.value for node in fuzz.postorder(body) if node.op == "sym"}
        used = {name: kind for name, kind in symbols.items() if name in names}
        program = fuzz.Program([d for d in declarations if d.split(":")[0] in used], [], body, used,
                               {"n": "n", "m": "m"})
        yield program, variable, "mixed", 0, 1, None


def issue_rows(test):
    """Run the rows of issue 12's table before the generated cases."""
    for case in _known_cases():
        test = example(case=case)(test)
    return test


@settings(max_examples=EXAMPLES, **SETTINGS)
@issue_rows
@given(cases())
def test_derivatives_agree_with_finite_differences(guard, case):
    """d.evaluate equals finite differences, in the layout's shape; only MatcalcError escapes."""
    _run(guard, case, ("derivative", "crash", "time"))


@settings(max_examples=EXAMPLES, **SETTINGS)
@issue_rows
@given(cases())
def test_printed_results_read_back(guard, case):
    """parse(text), parse(str(parse(text))) and parse(str(d)) have the values they should."""
    _run(guard, case, ("reading", "printing", "crash", "time"))


@settings(max_examples=EXAMPLES, **SETTINGS)
@issue_rows
@given(cases())
def test_generated_numpy_code_computes_the_derivative(guard, case):
    """The function numpy_code(d) defines, run here, returns d.evaluate's value."""
    _run(guard, case, ("code", "crash", "time"), code=True)


@settings(max_examples=max(EXAMPLES // 4, 5), **SETTINGS)
@issue_rows
@given(cases(max_depth=3))
def test_check_agrees_with_finite_differences(guard, case):
    """check() accepts what finite differences confirm, rejects what they refute, and rejects
    the result R changed to R + (1 + R .* R)/7 (it judges the result, not its own rederivation)."""
    _run(guard, case, ("check", "crash", "time"), check=True, tamper=True)


@settings(max_examples=EXAMPLES * 2, **SETTINGS)
@given(st.data())
def test_mutated_texts_fail_cleanly_and_in_time(guard, data):
    """Random edits of valid texts: parse, diff and printing raise MatcalcError or succeed, in LIMIT s."""
    program = data.draw(fuzz.programs(max_depth=3))
    text = data.draw(fuzz.mutations(program.text))
    variable = data.draw(st.sampled_from(program.used_symbols() or ["x"]))
    layout = data.draw(st.sampled_from(fuzz.LAYOUTS))
    out = guard.run({"text": text, "variable": variable, "layout": layout, "mutated": True}, LIMIT)
    problems = fuzz.judge(out, None, None, {})
    event("accepted" if "diff_error" not in out and "timeout" not in out else "refused")
    assert not problems, "\n".join(f"[{kind}] {what}" for kind, what in problems) + \
        f"\ntext: {text!r}, by {variable}, {layout} layout"


@settings(max_examples=EXAMPLES, **SETTINGS)
@given(st.data())
def test_odd_arguments_and_values_fail_cleanly(guard, data):
    """Wrong types and ranges for the arguments of diff, evaluate and check (None, numbers for
    names, order 1.5, NaN, complex, ragged arrays, seed "a") end in MatcalcError, never another
    exception; a value that is missing, not finite or complex is never silently evaluated."""
    program, variable, _, seed, _, _ = data.draw(cases(max_depth=3))
    if variable is None:
        return
    values = fuzz.matcalc_values(program, fuzz.random_point(program, seed))
    case = data.draw(fuzz.odd_calls(program, variable, values))
    out = guard.run(case, CHECK_LIMIT if "seed" in case else LIMIT)
    problems = [p for p in fuzz.judge(out, None, None, {}) if p[0] in ("crash", "time")]
    if "evaluate" in out and fuzz.odd_value_given(case, program.symbols):
        problems.append(("values", f"evaluate returned {out['evaluate']!r} for {case['values']!r}"))
    event("accepted" if "diff_error" not in out else "refused")
    assert not problems, "\n".join(f"[{kind}] {what}" for kind, what in problems) + \
        f"\ntext: {program.text!r}, diff(*{case['wrt']!r}, **{case['options']!r})"
