#!/usr/bin/env python3
"""Generated code against what people write: matcalc's emitted NumPy, a hand-written
closed form, jax.jit(jax.grad / jax.hessian), torch.func and HIPS autograd.

    python benchmarks/codegen.py                 # n = 10, 100, 1000 (Hessians: what fits)
    python benchmarks/codegen.py --quick         # fewer samples
    python benchmarks/codegen.py --sizes 10 100  # other sizes

One thread everywhere (the thread variables are set before NumPy is imported).  Each
sample times every method once, in turn (round robin), each call repeated until it
takes at least MIN_SAMPLE_SECONDS; the table gives, for each method, the median over
the samples of its time divided by the hand-written closed form's time in the same round
(and the hand-written form's median time).  Every
method's result is first checked against the closed form (a failed check is shown in
the row instead of a time).  The code is generated for the sizes at hand
(`numpy_code(d, sizes=...)`); the symbolic time to produce it is the last column.
Methods whose library is not installed are left out (`pip install ".[bench]"`).
"""
from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                  "NUMEXPR_NUM_THREADS"):
    os.environ[_variable] = "1"
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import matcalc  # noqa: E402
from matcalc.codegen import numpy_code  # noqa: E402

MIN_SAMPLE_SECONDS = 0.005
ENTRY_LIMIT = 30_000_000      # a Hessian with more entries than this is not computed (240 MB)
AUTODIFF_SECONDS = 20.0       # an autodiff method slower than this on its first call is left out
DEFAULT_SIZES = [10, 100, 1000]
NETWORK_SIZES = [10, 30, 60]


def _optional(name):
    try:
        return __import__(name)
    except Exception:       # not installed, or fails to import: the column says so
        return None


# ------------------------------------------------------------------ cases
# Each case: expression, variables, declarations, input arrays for a size n, the
# hand-written closed form, and the function itself in an autodiff library's terms
# (xp is jax.numpy, torch or autograd.numpy).

def _quadratic(n, rng):
    return {"x": rng.normal(size=n), "A": rng.normal(size=(n, n))}


def _quadratic_closed(x, A):
    return A @ x + A.T @ x


def _quadratic_f(xp, x, A):
    return x @ A @ x


def _logistic(n, rng):
    return {"X": rng.normal(size=(2 * n, n)) / np.sqrt(n), "y": rng.choice([-1.0, 1.0], size=2 * n),
            "w": rng.normal(size=n)}


def _logistic_closed(X, y, w):
    s = 1 / (1 + np.exp(y * (X @ w)))
    return X.T @ ((y * y * s * (1 - s))[:, None] * X)


def _logistic_f(xp, X, y, w):
    return xp.sum(xp.log(1 + xp.exp(-y * (X @ w))))


def _factorisation(n, rng):
    k = 5
    return {"T": rng.normal(size=(n, n)), "U": rng.normal(size=(n, k)), "V": rng.normal(size=(n, k))}


def _factorisation_hessian_closed(T, U, V):
    n, k = U.shape
    H = np.zeros((n, k, n, k))
    np.einsum("ijil->ijl", H)[...] = 2 * (V.T @ V)
    return H


def _factorisation_gradient_closed(T, U, V):
    return 2 * (U @ (V.T @ V) - T @ V)


def _factorisation_f(xp, T, U, V):
    R = T - U @ V.T
    return xp.sum(R * R)


def _network(n, rng):
    return {"W1": rng.normal(size=(n, n)) / np.sqrt(n), "x": rng.normal(size=n), "b1": rng.normal(size=n),
            "W2": rng.normal(size=(n, n)) / np.sqrt(n), "b2": rng.normal(size=n), "y": rng.normal(size=n)}


def _network_closed(W1, x, b1, W2, b2, y):
    h = np.tanh(W1 @ x + b1)
    s = 1 - h * h
    e = W2 @ h + b2 - y
    G = W2 * s
    M = G.T @ G
    M[np.diag_indices_from(M)] -= 2 * h * s * (W2.T @ e)
    return M[:, None, :, None] * np.multiply.outer(x, x)[None, :, None, :]


def _network_f(xp, W1, x, b1, W2, b2, y):
    h = xp.tanh(W1 @ x + b1)
    r = W2 @ h + b2 - y
    return 0.5 * xp.sum(r * r)


def _gaussian(n, rng):
    B = rng.normal(size=(n, n))
    return {"S": B @ B.T / n + np.eye(n), "x": rng.normal(size=n), "mu": rng.normal(size=n)}


def _gaussian_closed(S, x, mu):
    Si = np.linalg.inv(S)
    d = x - mu
    return 0.5 * (Si.T - np.outer(Si.T @ d, Si @ d))


def _gaussian_symmetric_closed(S, x, mu):
    Si = np.linalg.inv(S)
    r = Si @ (x - mu)
    return 0.5 * (Si - np.outer(r, r))


def _gaussian_f(xp, S, x, mu):
    d = x - mu
    return 0.5 * _logdet(xp, S) + 0.5 * d @ xp.linalg.solve(S, d)


def _logdet(xp, S):
    if hasattr(xp, "linalg") and hasattr(xp.linalg, "slogdet"):
        return xp.linalg.slogdet(S)[1]
    return xp.log(xp.linalg.det(S))


FACTORISATION = "T: matrix[n,m]; U: matrix[n,k]; V: matrix[m,k]; ||T - U V^T||_F^2"
NETWORK = "h = tanh(W1 x + b1); yhat = W2 h + b2; 1/2 ||yhat - y||^2"
GAUSSIAN = "1/2 logdet(S) + 1/2 (x - mu)^T inv(S) (x - mu)"

CASES = [
    # (name, expression, variable, order, options, inputs, closed form, function, Hessian axes)
    ("gradient of x^T A x", "x^T A x", "x", 1, {}, _quadratic, _quadratic_closed, _quadratic_f),
    ("Hessian of the logistic loss", "sum(log(1 + exp(-y .* (X w))))", "w", 2, {}, _logistic,
     _logistic_closed, _logistic_f),
    ("Hessian of ||T - U V^T||_F^2 by U", FACTORISATION, "U", 2, {}, _factorisation,
     _factorisation_hessian_closed, _factorisation_f),
    ("Hessian of the 2-layer tanh net by W1", NETWORK, "W1", 2, {}, _network, _network_closed, _network_f),
    ("gradient of the Gaussian NLL by S", GAUSSIAN, "S", 1, {}, _gaussian, _gaussian_closed, _gaussian_f),
    ("... with --symmetric S", GAUSSIAN, "S", 1, {"symmetric": ("S",)}, _gaussian,
     _gaussian_symmetric_closed, _gaussian_f),
    ("gradient of ||T - U V^T||_F^2 by U", FACTORISATION, "U", 1, {}, _factorisation,
     _factorisation_gradient_closed, _factorisation_f),
]


# ------------------------------------------------------------------ methods

def _sizes_of(d, values) -> dict:
    sizes = {}
    for name, symbol in d.analysis.symbols.items():
        shape = np.shape(values[name])
        dims = symbol.shape[:1] if symbol.kind == "vector" else (symbol.shape if symbol.kind != "scalar" else ())
        for dim, size in zip(dims, shape):
            if isinstance(dim, str):
                sizes[dim] = size
    return sizes


def _emitted(expression, variable, order, options, values):
    started = time.perf_counter()
    d = matcalc.diff(expression, [variable] * order, **options)
    code = numpy_code(d, sizes=_sizes_of(d, values))
    symbolic = time.perf_counter() - started
    namespace: dict = {}
    exec(compile(code, "<matcalc code>", "exec"), namespace)   # noqa: S102 - the benchmark runs matcalc's output
    function = namespace["derivative"]
    arguments = [values[name] for name in d.analysis.symbols]
    return (lambda: function(*arguments)), symbolic, code


def _autodiff_methods(function, variable, order, values):
    """name -> a no-argument callable, for each autodiff library installed."""
    names = list(values)
    position = names.index(variable)
    methods = {}
    jax = _optional("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        transform = jax.grad if order == 1 else jax.hessian
        compiled = jax.jit(transform(lambda *a: function(jnp, *a), argnums=position))
        arguments = [jnp.asarray(values[n]) for n in names]
        methods["jax.jit"] = lambda: compiled(*arguments).block_until_ready()
    torch = _optional("torch")
    if torch is not None:
        torch.set_num_threads(1)
        from torch import func as tf
        transform = tf.grad if order == 1 else tf.hessian
        derivative = transform(lambda *a: function(torch, *a), argnums=position)
        arguments = [torch.as_tensor(values[n], dtype=torch.float64) for n in names]
        methods["torch.func"] = lambda: derivative(*arguments)
    autograd = _optional("autograd")
    if autograd is not None:
        import autograd.numpy as anp
        transform = autograd.grad if order == 1 else autograd.hessian
        derivative = transform(lambda *a: function(anp, *a), position)
        arguments = [values[n] for n in names]
        methods["autograd"] = lambda: derivative(*arguments)
    return methods


def _as_array(result):
    if hasattr(result, "detach"):
        result = result.detach().numpy()
    return np.asarray(result, dtype=float)


def _time(method) -> float:
    repeats, elapsed = 0, 0.0
    started = time.perf_counter()
    while elapsed < MIN_SAMPLE_SECONDS or repeats == 0:
        method()
        repeats += 1
        elapsed = time.perf_counter() - started
    return elapsed / repeats


def run_case(case, n, samples, rng):
    name, expression, variable, order, options, inputs, closed, function = case
    values = inputs(n, rng)
    try:
        want = closed(**values)
    except MemoryError:
        return None
    if want.size > ENTRY_LIMIT:
        return None
    emitted, symbolic, code = _emitted(expression, variable, order, options, values)
    methods = {"hand-written": lambda: closed(**values), "matcalc": emitted}
    methods.update(_autodiff_methods(function, variable, order, values))
    problems = {}
    for method_name, method in list(methods.items()):
        started = time.perf_counter()
        try:
            got = _as_array(method())
            if method_name not in ("hand-written", "matcalc"):
                got = _as_array(method())   # after jit compilation
        except Exception as exc:            # a library that cannot do it: its column says why
            reason = " ".join(str(exc).split())[:60].replace("|", "/")
            problems[method_name] = f"fails: {type(exc).__name__} ({reason})"
            del methods[method_name]
            continue
        if time.perf_counter() - started > AUTODIFF_SECONDS and method_name not in ("hand-written", "matcalc"):
            problems[method_name] = "too slow"
            del methods[method_name]
            continue
        if got.size != want.size or not np.allclose(got.reshape(want.shape), want, rtol=1e-7, atol=1e-9):
            problems[method_name] = "WRONG"
            del methods[method_name]
    times = {m: [] for m in methods}
    for _ in range(samples):
        for method_name, method in methods.items():
            times[method_name].append(_time(method))
    # each sample's time over the hand-written one of the same round: the load of a shared
    # machine drifts more slowly than a round takes, so paired ratios cancel most of it
    ratios = {m: statistics.median(t / h for t, h in zip(times[m], times["hand-written"])) for m in times}
    return statistics.median(times["hand-written"]), ratios, problems, symbolic, code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--quick", action="store_true", help="5 samples instead of 11")
    parser.add_argument("--case", type=int, nargs="*", help="only these cases (0-based)")
    parser.add_argument("--show-code", action="store_true", help="print the generated code of each case")
    args = parser.parse_args(argv)
    samples = 5 if args.quick else 11
    columns = ["matcalc", "jax.jit", "torch.func", "autograd"]
    print(f"One thread; median of {samples} round-robin samples of the time over the hand-written closed "
          f"form's in the same round (lower is faster); every result checked against it.\n")
    print("| case | n | hand-written | " + " | ".join(columns) + " | symbolic s |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in columns) + " | --- |")
    rng = np.random.default_rng(0)
    shown = set()
    for index, case in enumerate(CASES):
        if args.case and index not in args.case:
            continue
        sizes = args.sizes
        if case[1] == NETWORK and args.sizes == DEFAULT_SIZES:
            sizes = NETWORK_SIZES      # its Hessian has n^4 entries: 100^4 does not fit
        for n in sizes:
            outcome = run_case(case, n, samples, rng)
            if outcome is None:
                print(f"| {case[0]} | {n} | (too large: more than {ENTRY_LIMIT:,} entries) |" + " |" * (len(columns) + 1))
                continue
            base, ratios, problems, symbolic, code = outcome
            cells = []
            for column in columns:
                if column in ratios:
                    cells.append(f"{ratios[column]:.2f}x")
                else:
                    cells.append(problems.get(column, "not installed"))
            print(f"| {case[0]} | {n} | {base * 1e6:,.1f} µs | " + " | ".join(cells) + f" | {symbolic:.3f} |",
                  flush=True)
            if args.show_code and index not in shown:
                shown.add(index)
                print("\n```python\n" + code + "```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
