"""Identity table: matcalc's derivatives against an independent oracle.

Every row is one identity: the expression in the matcalc language (SYNTAX.md), the
variable, declarations, the kind and concrete size of every symbol, the same
expression written as a Python function over arrays (``tests/oracle.py``), and,
where a textbook states it, the mixed-layout result as text and as a formula.

For every row and every layout the value of ``matcalc.diff(...).evaluate`` at a
random point (fixed seed per row) must equal central finite differences and the
elementwise SymPy derivative, with exactly the layout's shape.  Rows with a
textbook text also check ``str(matcalc.diff(expr, wrt))``.

Sizes: n=3, m=2, k=4, p=5 (all distinct, so transposition mistakes cannot hide).
The oracle itself (FD vs SymPy vs formula for every row) is tested in
``tests/test_oracle.py``, which does not need matcalc.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np
import pytest

import oracle
from oracle import LAYOUTS, Identity

import matcalc  # the identity tests must fail if the engine is missing


# --------------------------------------------------------------------------- helpers
ROWS: list = []


def R(id, expr, wrt, dims, fn, **kw):
    ROWS.append(Identity(id=id, expr=expr, wrt=wrt, dims=dims, fn=fn, **kw))


SYM_S = {"symmetric": ("S",)}


def scal(*names):
    return {"scalars": tuple(names)}


def _min_abs(expr_fn):
    """Guard: the argument of a kink (abs, relu) stays at least 0.2 away from 0."""
    return lambda v: float(np.min(np.abs(expr_fn(oracle.NUMPY, **v)))) > 0.2


# --------------------------------------------------------------------------- seeds
# Lecture notes in /work/shared/seeds: every worked example.
R("seed_wTx", "w^T x", "x", {"w": "vector[n]", "x": "vector[n]"},
  lambda B, w, x: w.T @ x, expected="w", formula=lambda B, w, x: w,
  flags=("seed",), ref="seed 000: d(w^T x)/dx = w",
  book="w")
R("seed_xTw", "x^T w", "x", {"w": "vector[n]", "x": "vector[n]"},
  lambda B, w, x: x.T @ w, expected="w", formula=lambda B, w, x: w,
  flags=("seed",), ref="seed 000: d(x^T w)/dx = w",
  book="w")
R("seed_xTAx", "x^T A x", "x", {"x": "vector[n]", "A": "matrix[n,n]"},
  lambda B, x, A: x.T @ A @ x, expected="(A + A^T) x",
  formula=lambda B, x, A: (A + A.T) @ x, flags=("seed", "wiki"), ref="seed 000; Wikipedia; MC 2.4.2 (81)",
  book="(A + A^T) x")
R("seed_xTSx_sym", "x^T S x", "x", {"x": "vector[n]", "S": "symmetric[n]"},
  lambda B, x, S: x.T @ S @ x, decl=SYM_S, expected="2 S x",
  formula=lambda B, x, S: 2 * S @ x, flags=("seed", "wiki"),
  book="2 S x", ref="MC 2.4.2, symmetric")
R("seed_Wx_by_x", "W x", "x", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: W @ x, expected="W", formula=lambda B, W, x: W,
  flags=("seed",), ref="seed 003: y = W x, dy/dx = W",
  book="W")
R("seed_xTW_by_x", "x^T W", "x", {"W": "matrix[n,k]", "x": "vector[n]"},
  lambda B, W, x: x.T @ W, expected="W^T", formula=lambda B, W, x: W.T,
  flags=("seed",), ref="seed 003: y = x W (rows), dy/dx = W^T",
  book="W^T")
R("seed_Ax_by_x", "A x", "x", {"A": "matrix[k,n]", "x": "vector[n]"},
  lambda B, A, x: A @ x, expected="A", formula=lambda B, A, x: A,
  flags=("seed",), ref="seed 001 (Deisenroth 5.3): f = A x, df/dx = A",
  book="A")
R("seed_lsq", "||y - Phi theta||^2", "theta",
  {"y": "vector[k]", "Phi": "matrix[k,n]", "theta": "vector[n]"},
  lambda B, y, Phi, theta: B.sqnorm(y - Phi @ theta),
  expected="-2 Phi^T (y - Phi theta)",
  formula=lambda B, y, Phi, theta: -2 * Phi.T @ (y - Phi @ theta),
  flags=("seed",), ref="seed 001: least-squares loss; MML 5.3 prints the row -2 (y - Phi theta)^T Phi (numerator layout)",
  book="-2 Phi^T (y - Phi theta)")
R("seed_lsq_stmt", "e = y - Phi theta; ||e||^2", "theta",
  {"y": "vector[k]", "Phi": "matrix[k,n]", "theta": "vector[n]"},
  lambda B, y, Phi, theta: B.sqnorm(y - Phi @ theta),
  formula=lambda B, y, Phi, theta: -2 * Phi.T @ (y - Phi @ theta),
  flags=("seed", "stmt"), ref="seed 001: L(e) = ||e||^2, e(theta) = y - Phi theta; MML 5.3 prints the row -2 e^T Phi",
  book="e = y - Phi theta; -2 Phi^T e")


def _chain(B, t):
    x = B.vstack(t * B.cos(t), t * B.sin(t))
    return B.exp(B.entry(x, 1) * B.entry(x, 2) ** 2)


def _chain_formula(B, t):
    x1, x2 = t * B.cos(t), t * B.sin(t)
    dx1, dx2 = B.cos(t) - t * B.sin(t), B.sin(t) + t * B.cos(t)
    return B.exp(x1 * x2 ** 2) * (dx1 * x2 ** 2 + 2 * x1 * x2 * dx2)


R("seed_chain_t", "scalar t; x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2)", "t",
  {"t": "scalar"}, _chain, formula=_chain_formula, flags=("seed", "stmt", "literal"),
  ref="seed 001 (Deisenroth 5.2.2): h(t) = exp(x1 x2^2), x = [t cos t; t sin t]; MML 5.2.2 (seed 001): df/dx dx/dt, multiplied out",
  book="x = [t cos(t); t sin(t)]; exp(x[1] x[2]^2) (x[2]^2 (cos(t) - t sin(t)) + 2 x[1] x[2] (sin(t) + t cos(t)))")
R("seed_chain_inner", "scalar t; [t cos(t); t sin(t)]", "t", {"t": "scalar"},
  lambda B, t: B.vstack(t * B.cos(t), t * B.sin(t)),
  formula=lambda B, t: B.vstack(B.cos(t) - t * B.sin(t), B.sin(t) + t * B.cos(t)),
  flags=("seed", "literal"), ref="seed 001: dx/dt (2 x 1)",
  book="[cos(t) - t sin(t); sin(t) + t cos(t)]")
R("seed_chain_outer", "exp(x[1] x[2]^2)", "x", {"x": "vector[2]"},
  lambda B, x: B.exp(B.entry(x, 1) * B.entry(x, 2) ** 2),
  formula=lambda B, x: B.exp(B.entry(x, 1) * B.entry(x, 2) ** 2)
  * B.vstack(B.entry(x, 2) ** 2, 2 * B.entry(x, 1) * B.entry(x, 2)),
  flags=("seed", "entries"), ref="seed 001: df/dx (entries make x concretely 2); MML prints the row [x2^2 exp, 2 x1 x2 exp] (numerator layout)",
  book="exp(x[1] x[2]^2) [x[2]^2; 2 x[1] x[2]]")

NET3 = "H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; 1/2 ||yhat - y||^2"
NET3_DIMS = {"x": "vector[n]", "W1": "matrix[n,k]", "W2": "matrix[k,m]",
             "W3": "matrix[m,p]", "y": "vector[p]"}


def _net3(B, x, W1, W2, W3, y):
    H1 = W1.T @ x
    H2 = W2.T @ H1
    yhat = W3.T @ H2
    return 0.5 * B.sqnorm(yhat - y)


def _net3_err(x, W1, W2, W3, y):
    H1 = W1.T @ x
    H2 = W2.T @ H1
    return H1, H2, W3.T @ H2 - y


R("seed_net3_W1", NET3, "W1", NET3_DIMS, _net3,
  formula=lambda B, x, W1, W2, W3, y: x @ (W2 @ W3 @ _net3_err(x, W1, W2, W3, y)[2]).T,
  flags=("seed", "stmt"), ref="seed 002: 3-layer linear network, dL/dW1 = x (W2 W3 e)^T",
  book="H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; x (W2 W3 (yhat - y))^T")
R("seed_net3_W2", NET3, "W2", NET3_DIMS, _net3,
  formula=lambda B, x, W1, W2, W3, y: _net3_err(x, W1, W2, W3, y)[0]
  @ (W3 @ _net3_err(x, W1, W2, W3, y)[2]).T,
  flags=("seed", "stmt"), ref="seed 002: dL/dW2 = H1 (W3 e)^T",
  book="H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; H1 (W3 (yhat - y))^T")
R("seed_net3_W3", NET3, "W3", NET3_DIMS, _net3,
  formula=lambda B, x, W1, W2, W3, y: _net3_err(x, W1, W2, W3, y)[1]
  @ _net3_err(x, W1, W2, W3, y)[2].T,
  flags=("seed", "stmt"), ref="seed 002: dL/dW3 = H2 e^T",
  book="H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; H2 (yhat - y)^T")
R("seed_net3_x", NET3, "x", NET3_DIMS, _net3,
  formula=lambda B, x, W1, W2, W3, y: W1 @ W2 @ W3 @ _net3_err(x, W1, W2, W3, y)[2],
  flags=("seed", "stmt"),
  book="H1 = W1^T x; H2 = W2^T H1; yhat = W3^T H2; W1 W2 W3 (yhat - y)")
R("seed_Wx2_by_W", "||W x||^2", "W", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.sqnorm(W @ x), formula=lambda B, W, x: 2 * W @ x @ x.T,
  flags=("seed",), ref="seed 003 (CS231n): f = ||W x||^2, df/dW = 2 q x^T; CS231n: 2 q x^T with q = W x",
  book="2 W x x^T")
R("seed_Wx2_by_x", "||W x||^2", "x", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.sqnorm(W @ x), formula=lambda B, W, x: 2 * W.T @ W @ x,
  flags=("seed",), ref="seed 003 (CS231n): df/dx = 2 W^T q; CS231n: 2 W^T q",
  book="2 W^T W x")
R("seed_q_stmt_by_W", "q = W x; ||q||^2", "W", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.sqnorm(W @ x), formula=lambda B, W, x: 2 * W @ x @ x.T,
  flags=("seed", "stmt"), ref="seed 003: computational graph q = W x",
  book="q = W x; 2 q x^T")
R("seed_tp_by_t", "t p", "t", {"t": "scalar", "p": "vector[k]"},
  lambda B, t, p: t * p, decl=scal("t"), formula=lambda B, t, p: p,
  flags=("seed",), ref="seed 003: vector by scalar, k x 1",
  book="p")
R("seed_pt_by_t", "p t", "t", {"t": "scalar", "p": "vector[k]"},
  lambda B, t, p: p * t, decl=scal("t"), formula=lambda B, t, p: p,
  flags=("seed",), ref="seed 003: vector times scalar on the right",
  book="p")
R("seed_tP_by_t", "t P", "t", {"t": "scalar", "P": "matrix[n,m]"},
  lambda B, t, P: t * P, decl=scal("t"), formula=lambda B, t, P: P,
  flags=("seed",), ref="seed 003: matrix by scalar, n x m",
  book="P")

# --------------------------------------------------------------------------- scalar by vector
R("sv_xTx", "x^T x", "x", {"x": "vector[n]"}, lambda B, x: x.T @ x,
  expected="2 x", formula=lambda B, x: 2 * x, flags=("wiki",),
  book="2 x", ref="MC 2.4.2")
R("sv_norm2", "||x||^2", "x", {"x": "vector[n]"}, lambda B, x: B.sqnorm(x),
  formula=lambda B, x: 2 * x, flags=("wiki",),
  book="2 x", ref="MC 2.6")
R("sv_half_norm2", "1/2 ||x||^2", "x", {"x": "vector[n]"}, lambda B, x: 0.5 * B.sqnorm(x),
  formula=lambda B, x: x,
  book="x")
R("sv_norm", "||x||", "x", {"x": "vector[n]"}, lambda B, x: B.norm(x),
  formula=lambda B, x: x / B.norm(x), flags=("wiki", "cookbook"), ref="MC 2.6: d||x||/dx = x/||x||",
  book="x / ||x||")
R("sv_norm_2", "||A x - b||_2", "x", {"A": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, A, x, b: B.norm(A @ x - b),
  formula=lambda B, A, x, b: A.T @ (A @ x - b) / B.norm(A @ x - b),
  book="A^T (A x - b) / ||A x - b||", ref="MC 2.6")
R("sv_dist2", "||x - a||^2", "x", {"x": "vector[n]", "a": "vector[n]"},
  lambda B, x, a: B.sqnorm(x - a), formula=lambda B, x, a: 2 * (x - a), flags=("cookbook",),
  book="2 (x - a)", ref="MC 2.4.2")
R("sv_bilinear_affine", "(A x + b)^T C (D x + e)", "x",
  {"A": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]", "C": "matrix[k,p]",
   "D": "matrix[p,n]", "e": "vector[p]"},
  lambda B, A, x, b, C, D, e: (A @ x + b).T @ C @ (D @ x + e),
  formula=lambda B, A, x, b, C, D, e: A.T @ C @ (D @ x + e) + D.T @ C.T @ (A @ x + b),
  flags=("cookbook",), ref="MC 2.4.2: (Ax+b)^T C (Dx+e)",
  book="D^T C^T (A x + b) + A^T C (D x + e)")
R("sv_affine_sq", "(A x + b)^T (A x + b)", "x",
  {"A": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, A, x, b: (A @ x + b).T @ (A @ x + b),
  formula=lambda B, A, x, b: 2 * A.T @ (A @ x + b), flags=("cookbook",),
  book="2 A^T (A x + b)", ref="MC 2.4.2")
R("sv_quad_lin_const", "x^T A x + b^T x + c", "x",
  {"x": "vector[n]", "A": "matrix[n,n]", "b": "vector[n]", "c": "scalar"},
  lambda B, x, A, b, c: x.T @ A @ x + b.T @ x + c, decl=scal("c"),
  formula=lambda B, x, A, b, c: (A + A.T) @ x + b,
  book="(A + A^T) x + b")
R("sv_lin_sq", "(a^T x)^2", "x", {"a": "vector[n]", "x": "vector[n]"},
  lambda B, a, x: (a.T @ x) ** 2, formula=lambda B, a, x: 2 * (a.T @ x) * a,
  book="2 (a^T x) a")
R("sv_outer_quad", "a^T x x^T b", "x", {"a": "vector[n]", "x": "vector[n]", "b": "vector[n]"},
  lambda B, a, x, b: a.T @ x @ x.T @ b,
  formula=lambda B, a, x, b: a * (x.T @ b) + b * (a.T @ x), flags=("cookbook",),
  book="(b^T x) a + (a^T x) b")
R("sv_exp_lin", "exp(a^T x)", "x", {"a": "vector[n]", "x": "vector[n]"},
  lambda B, a, x: B.exp(a.T @ x), formula=lambda B, a, x: B.exp(a.T @ x) * a,
  book="exp(a^T x) a")
R("sv_log_quad", "log(x^T S x)", "x", {"x": "vector[n]", "S": "symmetric[n] pd"},
  lambda B, x, S: B.log(x.T @ S @ x), decl=SYM_S,
  formula=lambda B, x, S: 2 * S @ x / (x.T @ S @ x),
  book="2 S x / (x^T S x)")
R("sv_sqrt_quad", "sqrt(x^T S x)", "x", {"x": "vector[n]", "S": "symmetric[n] pd"},
  lambda B, x, S: B.sqrt(x.T @ S @ x), decl=SYM_S,
  formula=lambda B, x, S: S @ x / B.sqrt(x.T @ S @ x),
  book="S x / sqrt(x^T S x)")
R("sv_rayleigh", "x^T A x / (x^T x)", "x", {"x": "vector[n]", "A": "matrix[n,n]"},
  lambda B, x, A: (x.T @ A @ x) / (x.T @ x),
  formula=lambda B, x, A: ((A + A.T) @ x * (x.T @ x) - 2 * x * (x.T @ A @ x)) / (x.T @ x) ** 2,
  book="((A + A^T) x - 2 (x^T A x) / (x^T x) x) / (x^T x)",
  book_layouts={"numerator": "((A + A^T) x - 2 (x^T A x) / (x^T x) x)^T / (x^T x)",
                "denominator": "((A + A^T) x - 2 (x^T A x) / (x^T x) x) / (x^T x)"}, ref="issue 9 table (Rayleigh quotient)")
R("sv_quartic", "x^T x x^T x", "x", {"x": "vector[n]"},
  lambda B, x: (x.T @ x) * (x.T @ x), formula=lambda B, x: 4 * (x.T @ x) * x,
  book="4 (x^T x) x")
R("sv_inv_quad", "x^T A^-1 x", "x", {"x": "vector[n]", "A": "matrix[n,n] inv"},
  lambda B, x, A: x.T @ B.inv(A) @ x,
  formula=lambda B, x, A: (B.inv(A) + B.inv(A).T) @ x,
  book="(A^-1 + A^-T) x", ref="MC 2.4.2 (81) with B = A^-1")
R("sv_sum", "sum(x)", "x", {"x": "vector[n]"}, lambda B, x: B.sum(x),
  formula=lambda B, x: B.ones(3),
  book="1")
R("sv_onesTx", "1^T x", "x", {"x": "vector[n]"}, lambda B, x: B.ones(3).T @ x,
  formula=lambda B, x: B.ones(3), flags=("constant",),
  book="1")
R("sv_sum_exp", "sum(exp(x))", "x", {"x": "vector[n]"}, lambda B, x: B.sum(B.exp(x)),
  formula=lambda B, x: B.exp(x), flags=("elementwise",),
  book="exp(x)")
R("sv_sum_log", "sum(log(z))", "z", {"z": "vector[n] pos"}, lambda B, z: B.sum(B.log(z)),
  formula=lambda B, z: 1 / z, flags=("elementwise",),
  book="1 ./ z")
R("sv_sum_sin", "sum(sin(x))", "x", {"x": "vector[n]"}, lambda B, x: B.sum(B.sin(x)),
  formula=lambda B, x: B.cos(x), flags=("elementwise",),
  book="cos(x)")
R("sv_sum_cos", "sum(cos(x))", "x", {"x": "vector[n]"}, lambda B, x: B.sum(B.cos(x)),
  formula=lambda B, x: -B.sin(x), flags=("elementwise",),
  book="-sin(x)")
R("sv_sum_tanh", "sum(tanh(x))", "x", {"x": "vector[n]"}, lambda B, x: B.sum(B.tanh(x)),
  formula=lambda B, x: 1 - B.tanh(x) ** 2, flags=("elementwise",),
  book="1 - tanh(x) .^ 2")
R("sv_sum_sigmoid", "sum(sigmoid(x))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.sigmoid(x)),
  formula=lambda B, x: B.sigmoid(x) * (1 - B.sigmoid(x)), flags=("elementwise",),
  book="sigmoid(x) .* (1 - sigmoid(x))", ref="Bishop (4.88)")
R("sv_sum_sqrt", "sum(sqrt(z))", "z", {"z": "vector[n] pos"}, lambda B, z: B.sum(B.sqrt(z)),
  formula=lambda B, z: 0.5 / B.sqrt(z), flags=("elementwise",),
  book="1 ./ (2 sqrt(z))")
R("sv_sum_softplus", "sum(softplus(x))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.softplus(x)), formula=lambda B, x: B.sigmoid(x), flags=("elementwise",),
  book="sigmoid(x)", ref="Goodfellow 3.10")
R("sv_sum_abs", "sum(abs(x))", "x", {"x": "vector[n] away"}, lambda B, x: B.sum(B.abs(x)),
  formula=lambda B, x: x / B.abs(x), flags=("elementwise", "kink"),
  book="sign(x)")
R("sv_sum_relu", "sum(relu(x))", "x", {"x": "vector[n] away"}, lambda B, x: B.sum(B.relu(x)),
  formula=lambda B, x: (x > 0).astype(float), flags=("elementwise", "kink"),
  book="step(x)")
R("sv_norm1", "||x||_1", "x", {"x": "vector[n] away"}, lambda B, x: B.norm1(x),
  formula=lambda B, x: x / B.abs(x), flags=("kink",),
  book="sign(x)")
R("sv_logsumexp", "logsumexp(x)", "x", {"x": "vector[n]"}, lambda B, x: B.logsumexp(x),
  formula=lambda B, x: B.softmax(x),
  book="softmax(x)")
R("sv_log_sum_exp", "log(sum(exp(x)))", "x", {"x": "vector[n]"},
  lambda B, x: B.log(B.sum(B.exp(x))), formula=lambda B, x: B.softmax(x),
  book="softmax(x)")
R("sv_weighted_sq", "u^T (x .* x)", "x", {"u": "vector[n]", "x": "vector[n]"},
  lambda B, u, x: u.T @ (x * x), formula=lambda B, u, x: 2 * u * x, flags=("hadamard",),
  book="2 u .* x")
R("sv_diag_quad", "x^T diag(u) x", "x", {"u": "vector[n]", "x": "vector[n]"},
  lambda B, u, x: x.T @ B.diag(u) @ x, formula=lambda B, u, x: 2 * u * x, flags=("diag",),
  book="2 u .* x")
R("sv_w_tanh", "w^T tanh(x)", "x", {"w": "vector[n]", "x": "vector[n]"},
  lambda B, w, x: w.T @ B.tanh(x), formula=lambda B, w, x: w * (1 - B.tanh(x) ** 2),
  book="w .* (1 - tanh(x) .^ 2)")
R("sv_logistic", "sum(log(1 + exp(-y .* (X w))))", "w",
  {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]"},
  lambda B, X, y, w: B.sum(B.log(1 + B.exp(-y * (X @ w)))),
  formula=lambda B, X, y, w: -X.T @ (y * B.sigmoid(-y * (X @ w))),
  flags=("broadcast", "ml"), ref="logistic loss",
  book="-X^T (y .* sigmoid(-y .* (X w)))")
R("sv_ridge", "1/2 ||X w - y||^2 + c/2 ||w||^2", "w",
  {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]", "c": "scalar"},
  lambda B, X, y, w, c: 0.5 * B.sqnorm(X @ w - y) + c / 2 * B.sqnorm(w), decl=scal("c"),
  formula=lambda B, X, y, w, c: X.T @ (X @ w - y) + c * w, flags=("ml",),
  book="X^T (X w - y) + c w", ref="Bishop 3.1.4")
R("sv_xent_softmax", "y^T log(softmax(z))", "z", {"y": "vector[n]", "z": "vector[n]"},
  lambda B, y, z: y.T @ B.log(B.softmax(z)),
  formula=lambda B, y, z: y - B.sum(y) * B.softmax(z), flags=("ml",),
  book="y - sum(y) softmax(z)", ref="Goodfellow 6.2.2.3")
R("sv_lse_affine", "logsumexp(X w)", "w", {"X": "matrix[k,n]", "w": "vector[n]"},
  lambda B, X, w: B.logsumexp(X @ w), formula=lambda B, X, w: X.T @ B.softmax(X @ w),
  book="X^T softmax(X w)")
R("sv_sigmoid_lsq", "1/2 ||sigmoid(X w) - y||^2", "w",
  {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k]"},
  lambda B, X, w, y: 0.5 * B.sqnorm(B.sigmoid(X @ w) - y),
  formula=lambda B, X, w, y: X.T @ ((B.sigmoid(X @ w) - y) * B.sigmoid(X @ w)
                                    * (1 - B.sigmoid(X @ w))), flags=("ml",),
  book="X^T ((sigmoid(X w) - y) .* sigmoid(X w) .* (1 - sigmoid(X w)))")
R("sv_kron_vec", "a^T kron(x, y)", "x", {"a": "vector[n*k]", "x": "vector[n]", "y": "vector[k]"},
  lambda B, a, x, y: a.T @ B.kron(x, y),
  formula=lambda B, a, x, y: a.reshape(3, 4) @ y, flags=("kron",),
  book="kron(I, y^T) a", ref="Magnus and Neudecker 2: (I ⊗ y^T) a")
R("sv_sum_sech2", "sum(1 - tanh(x) .* tanh(x))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(1 - B.tanh(x) * B.tanh(x)),
  formula=lambda B, x: -2 * B.tanh(x) * (1 - B.tanh(x) ** 2), flags=("broadcast",),
  book="-2 tanh(x) .* (1 - tanh(x) .^ 2)")
R("sv_cube", "sum(x .^ 3)", "x", {"x": "vector[n]"}, lambda B, x: B.sum(x ** 3),
  formula=lambda B, x: 3 * x ** 2, flags=("elementwise",),
  book="3 x .^ 2")
R("sv_ratio_by_z", "sum(x ./ z)", "z", {"x": "vector[n]", "z": "vector[n] pos"},
  lambda B, x, z: B.sum(x / z), formula=lambda B, x, z: -x / z ** 2, flags=("elementwise",),
  book="-x ./ z .^ 2")
R("sv_tr_outer", "tr(x x^T)", "x", {"x": "vector[n]"}, lambda B, x: B.tr(x @ x.T),
  formula=lambda B, x: 2 * x,
  book="2 x")
R("sv_det_rank1", "det(I + x x^T)", "x", {"x": "vector[n]"},
  lambda B, x: B.det(B.eye(3) + x @ x.T), formula=lambda B, x: 2 * x,
  flags=("constant",), ref="matrix determinant lemma: det(I + x x^T) = 1 + x^T x",
  book="2 x")
R("sv_gauss_mu", "1/2 (x - mu)^T inv(S) (x - mu)", "mu",
  {"x": "vector[n]", "mu": "vector[n]", "S": "symmetric[n] pd"},
  lambda B, x, mu, S: 0.5 * (x - mu).T @ B.inv(S) @ (x - mu), decl=SYM_S,
  formula=lambda B, x, mu, S: -B.inv(S) @ (x - mu), flags=("ml",),
  book="-S^-1 (x - mu)", ref="Bishop 2.3.4")

# --------------------------------------------------------------------------- vector by vector
R("vv_identity", "x", "x", {"x": "vector[n]"}, lambda B, x: x,
  expected="I", formula=lambda B, x: B.eye(3), flags=("wiki",),
  book="I")
R("vv_affine", "A x + b", "x", {"A": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, A, x, b: A @ x + b, formula=lambda B, A, x, b: A, flags=("wiki",),
  book="A")
R("vv_xTA", "x^T A", "x", {"A": "matrix[n,k]", "x": "vector[n]"},
  lambda B, A, x: x.T @ A, formula=lambda B, A, x: A.T, flags=("wiki",),
  book="A^T", ref="Wikipedia prints A (denominator layout)")
R("vv_tanh_layer", "tanh(W x + b)", "x", {"W": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, W, x, b: B.tanh(W @ x + b),
  formula=lambda B, W, x, b: B.diag(1 - B.tanh(W @ x + b) ** 2) @ W, flags=("ml",),
  book="diag(1 - tanh(W x + b) .^ 2) W")
R("vv_sigmoid_layer_b", "sigmoid(W x + b)", "b",
  {"W": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, W, x, b: B.sigmoid(W @ x + b),
  formula=lambda B, W, x, b: B.diag(B.sigmoid(W @ x + b) * (1 - B.sigmoid(W @ x + b))),
  book="diag(sigmoid(W x + b) .* (1 - sigmoid(W x + b)))")
R("vv_softmax", "softmax(x)", "x", {"x": "vector[n]"}, lambda B, x: B.softmax(x),
  formula=lambda B, x: B.diag(B.softmax(x)) - B.softmax(x) @ B.softmax(x).T,
  book="diag(softmax(x)) - softmax(x) softmax(x)^T", ref="Bishop (4.106)")
R("vv_softmax_affine", "softmax(W x)", "x", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.softmax(W @ x),
  formula=lambda B, W, x: (B.diag(B.softmax(W @ x)) - B.softmax(W @ x) @ B.softmax(W @ x).T) @ W,
  book="(diag(softmax(W x)) - softmax(W x) softmax(W x)^T) W")
R("vv_exp", "exp(x)", "x", {"x": "vector[n]"}, lambda B, x: B.exp(x),
  formula=lambda B, x: B.diag(B.exp(x)), flags=("elementwise",),
  book="diag(exp(x))")
R("vv_log", "log(z)", "z", {"z": "vector[n] pos"}, lambda B, z: B.log(z),
  formula=lambda B, z: B.diag(1 / z), flags=("elementwise",),
  book="diag(1 ./ z)")
R("vv_sqrt", "sqrt(z)", "z", {"z": "vector[n] pos"}, lambda B, z: B.sqrt(z),
  formula=lambda B, z: B.diag(0.5 / B.sqrt(z)), flags=("elementwise",),
  book="diag(1 ./ (2 sqrt(z)))")
R("vv_abs", "abs(x)", "x", {"x": "vector[n] away"}, lambda B, x: B.abs(x),
  formula=lambda B, x: B.diag(x / B.abs(x)), flags=("elementwise", "kink"),
  book="diag(sign(x))")
R("vv_relu_layer", "relu(W x)", "x", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.relu(W @ x),
  formula=lambda B, W, x: B.diag((W @ x > 0).astype(float)) @ W,
  guard=_min_abs(lambda B, W, x: W @ x), flags=("elementwise", "kink"),
  book="diag(step(W x)) W")
R("vv_hadamard", "x .* y", "x", {"x": "vector[n]", "y": "vector[n]"},
  lambda B, x, y: x * y, formula=lambda B, x, y: B.diag(y), flags=("hadamard",),
  book="diag(y)")
R("vv_elemdiv_by_z", "x ./ z", "z", {"x": "vector[n]", "z": "vector[n] pos"},
  lambda B, x, z: x / z, formula=lambda B, x, z: B.diag(-x / z ** 2), flags=("hadamard",),
  book="-diag(x ./ z .^ 2)")
R("vv_sech2", "1 - tanh(x) .* tanh(x)", "x", {"x": "vector[n]"},
  lambda B, x: 1 - B.tanh(x) * B.tanh(x),
  formula=lambda B, x: B.diag(-2 * B.tanh(x) * (1 - B.tanh(x) ** 2)), flags=("broadcast",),
  book="-2 diag(tanh(x) .* (1 - tanh(x) .^ 2))")
R("vv_normalize", "x / ||x||", "x", {"x": "vector[n]"}, lambda B, x: x / B.norm(x),
  formula=lambda B, x: (B.eye(3) - x @ x.T / B.sqnorm(x)) / B.norm(x),
  book="(I - x x^T / (x^T x)) / ||x||")
R("vv_scaled_by_inner", "(x^T a) x", "x", {"x": "vector[n]", "a": "vector[n]"},
  lambda B, x, a: (x.T @ a) * x, formula=lambda B, x, a: x @ a.T + (x.T @ a) * B.eye(3),
  flags=("wiki",),
  book="x a^T + (x^T a) I")
R("vv_sqnorm_times_a", "(x^T x) a", "x", {"x": "vector[n]", "a": "vector[k]"},
  lambda B, x, a: (x.T @ x) * a, formula=lambda B, x, a: 2 * a @ x.T,
  book="2 a x^T")
R("vv_kron_by_x", "kron(x, y)", "x", {"x": "vector[n]", "y": "vector[k]"},
  lambda B, x, y: B.kron(x, y), formula=lambda B, x, y: B.kron(B.eye(3), y), flags=("kron",),
  book="kron(I, y)")
R("vv_kron_by_y", "kron(x, y)", "y", {"x": "vector[n]", "y": "vector[k]"},
  lambda B, x, y: B.kron(x, y), formula=lambda B, x, y: B.kron(x, B.eye(4)), flags=("kron",),
  book="kron(x, I)")
R("vv_diag_times", "diag(x) y", "x", {"x": "vector[n]", "y": "vector[n]"},
  lambda B, x, y: B.diag(x) @ y, formula=lambda B, x, y: B.diag(y), flags=("diag",),
  book="diag(y)")
R("vv_diag_outer", "diag(x x^T)", "x", {"x": "vector[n]"},
  lambda B, x: B.diag(x @ x.T), formula=lambda B, x: 2 * B.diag(x), flags=("diag",),
  book="2 diag(x)")
R("vv_normal_eq", "X^T (X w - y)", "w", {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k]"},
  lambda B, X, w, y: X.T @ (X @ w - y), formula=lambda B, X, w, y: X.T @ X,
  book="X^T X")
R("vv_logistic_inner", "1 + exp(-y .* (X w))", "w",
  {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]"},
  lambda B, X, y, w: 1 + B.exp(-y * (X @ w)),
  formula=lambda B, X, y, w: -B.diag(B.exp(-y * (X @ w)) * y) @ X, flags=("broadcast",),
  book="-diag(y .* exp(-y .* (X w))) X")
R("vv_cube", "x .^ 3", "x", {"x": "vector[n]"}, lambda B, x: x ** 3,
  formula=lambda B, x: B.diag(3 * x ** 2), flags=("elementwise",),
  book="3 diag(x .^ 2)")
R("vv_inv_apply", "A^-1 x", "x", {"A": "matrix[n,n] inv", "x": "vector[n]"},
  lambda B, A, x: B.inv(A) @ x, formula=lambda B, A, x: B.inv(A),
  book="A^-1")
R("vv_sym_apply", "S x", "x", {"S": "symmetric[n]", "x": "vector[n]"},
  lambda B, S, x: S @ x, decl=SYM_S, formula=lambda B, S, x: S,
  book="S")

# --------------------------------------------------------------------------- vector by scalar
R("vs_exp_scaled", "exp(t x)", "t", {"t": "scalar", "x": "vector[n]"},
  lambda B, t, x: B.exp(t * x), decl=scal("t"),
  formula=lambda B, t, x: x * B.exp(t * x), flags=("wiki",),
  book="x .* exp(t x)")
R("vs_trig_comb", "sin(t) a + cos(t) b", "t", {"t": "scalar", "a": "vector[k]", "b": "vector[k]"},
  lambda B, t, a, b: B.sin(t) * a + B.cos(t) * b, decl=scal("t"),
  formula=lambda B, t, a, b: B.cos(t) * a - B.sin(t) * b,
  book="cos(t) a - sin(t) b")
R("vs_inv_apply", "inv(A + t C) b", "t",
  {"t": "scalar", "A": "matrix[n,n] inv", "C": "matrix[n,n] small", "b": "vector[n]"},
  lambda B, t, A, C, b: B.inv(A + t * C) @ b, decl=scal("t"),
  formula=lambda B, t, A, C, b: -B.inv(A + t * C) @ C @ B.inv(A + t * C) @ b,
  flags=("cookbook",),
  book="-inv(A + t C) C inv(A + t C) b", ref="MC 2.2 (59)")
R("vs_literal", "scalar t; [t; t^2; t^3]", "t", {"t": "scalar"},
  lambda B, t: B.vstack(t, t ** 2, t ** 3),
  formula=lambda B, t: B.vstack(1 + 0 * t, 2 * t, 3 * t ** 2), flags=("literal",),
  book="[1; 2 t; 3 t^2]")

# --------------------------------------------------------------------------- matrix by scalar
R("ms_exp_poly", "exp(t) A + t^2 C", "t", {"t": "scalar", "A": "matrix[n,m]", "C": "matrix[n,m]"},
  lambda B, t, A, C: B.exp(t) * A + t ** 2 * C, decl=scal("t"),
  formula=lambda B, t, A, C: B.exp(t) * A + 2 * t * C,
  book="exp(t) A + 2 t C")
R("ms_inv", "inv(A + t C)", "t", {"t": "scalar", "A": "matrix[n,n] inv", "C": "matrix[n,n] small"},
  lambda B, t, A, C: B.inv(A + t * C), decl=scal("t"),
  formula=lambda B, t, A, C: -B.inv(A + t * C) @ C @ B.inv(A + t * C),
  flags=("cookbook", "wiki"), ref="dX^-1 = -X^-1 dX X^-1; MC 2.2 (59)",
  book="-inv(A + t C) C inv(A + t C)")
R("ms_square", "(A + t C)^2", "t", {"t": "scalar", "A": "matrix[n,n]", "C": "matrix[n,n]"},
  lambda B, t, A, C: B.mpow(A + t * C, 2), decl=scal("t"),
  formula=lambda B, t, A, C: C @ (A + t * C) + (A + t * C) @ C, flags=("power",),
  book="C (A + t C) + (A + t C) C")
R("ms_cube", "(A + t C)^3", "t", {"t": "scalar", "A": "matrix[n,n]", "C": "matrix[n,n]"},
  lambda B, t, A, C: B.mpow(A + t * C, 3), decl=scal("t"),
  formula=lambda B, t, A, C: (C @ (A + t * C) @ (A + t * C) + (A + t * C) @ C @ (A + t * C)
                              + (A + t * C) @ (A + t * C) @ C), flags=("power",),
  book="C (A + t C)^2 + (A + t C) C (A + t C) + (A + t C)^2 C")
R("ms_literal", "scalar t; [t, t^2; sin(t), 1]", "t", {"t": "scalar"},
  lambda B, t: B.block([[t, t ** 2], [B.sin(t), 1]]),
  formula=lambda B, t: B.block([[1 + 0 * t, 2 * t], [B.cos(t), 0 * t]]), flags=("literal",),
  book="[1, 2 t; cos(t), 0]")
R("ms_outer", "t x y^T", "t", {"t": "scalar", "x": "vector[n]", "y": "vector[k]"},
  lambda B, t, x, y: t * (x @ y.T), decl=scal("t"), formula=lambda B, t, x, y: x @ y.T,
  book="x y^T")
R("ms_sigmoid", "sigmoid(t A)", "t", {"t": "scalar", "A": "matrix[n,m]"},
  lambda B, t, A: B.sigmoid(t * A), decl=scal("t"),
  formula=lambda B, t, A: A * B.sigmoid(t * A) * (1 - B.sigmoid(t * A)), flags=("elementwise",),
  book="A .* sigmoid(t A) .* (1 - sigmoid(t A))")

# --------------------------------------------------------------------------- scalar by scalar
R("ss_cube", "t^3", "t", {"t": "scalar"}, lambda B, t: t ** 3, decl=scal("t"),
  formula=lambda B, t: 3 * t ** 2,
  book="3 t^2")
R("ss_trig", "sin(t) cos(t)", "t", {"t": "scalar"}, lambda B, t: B.sin(t) * B.cos(t),
  decl=scal("t"), formula=lambda B, t: B.cos(t) ** 2 - B.sin(t) ** 2,
  book="cos(t)^2 - sin(t)^2")
R("ss_log1p", "log(1 + t^2)", "t", {"t": "scalar signed"}, lambda B, t: B.log(1 + t ** 2),
  decl=scal("t"), formula=lambda B, t: 2 * t / (1 + t ** 2),
  book="2 t / (1 + t^2)")
R("ss_sigmoid_tanh", "exp(-t) tanh(t) + sigmoid(t)", "t", {"t": "scalar signed"},
  lambda B, t: B.exp(-t) * B.tanh(t) + B.sigmoid(t), decl=scal("t"),
  formula=lambda B, t: (-B.exp(-t) * B.tanh(t) + B.exp(-t) * (1 - B.tanh(t) ** 2)
                        + B.sigmoid(t) * (1 - B.sigmoid(t))),
  book="sigmoid(t) (1 - sigmoid(t)) + exp(-t) (1 - tanh(t) - tanh(t)^2)")
R("ss_det_path", "det(A + t C)", "t", {"t": "scalar", "A": "matrix[n,n] inv", "C": "matrix[n,n] small"},
  lambda B, t, A, C: B.det(A + t * C), decl=scal("t"),
  formula=lambda B, t, A, C: B.det(A + t * C) * B.tr(B.inv(A + t * C) @ C),
  flags=("cookbook",), ref="Jacobi's formula; MC 2.1.1 (46), Jacobi's formula",
  book="det(A + t C) tr(inv(A + t C) C)")
R("ss_tr_inv_path", "tr(inv(A + t C))", "t",
  {"t": "scalar", "A": "matrix[n,n] inv", "C": "matrix[n,n] small"},
  lambda B, t, A, C: B.tr(B.inv(A + t * C)), decl=scal("t"),
  formula=lambda B, t, A, C: -B.tr(B.inv(A + t * C) @ C @ B.inv(A + t * C)),
  book="-tr(inv(A + t C) C inv(A + t C))")
R("ss_quad_path", "x^T (A + t C) x", "t", {"t": "scalar", "x": "vector[n]", "A": "matrix[n,n]",
                                           "C": "matrix[n,n]"},
  lambda B, t, x, A, C: x.T @ (A + t * C) @ x, decl=scal("t"),
  formula=lambda B, t, x, A, C: x.T @ C @ x,
  book="x^T C x")
R("ss_line_search", "||t x - y||^2", "t", {"t": "scalar", "x": "vector[n]", "y": "vector[n]"},
  lambda B, t, x, y: B.sqnorm(t * x - y), decl=scal("t"),
  formula=lambda B, t, x, y: 2 * x.T @ (t * x - y),
  book="2 x^T (t x - y)")
R("ss_ridge_by_c", "1/2 ||X w - y||^2 + c/2 ||w||^2", "c",
  {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]", "c": "scalar"},
  lambda B, X, y, w, c: 0.5 * B.sqnorm(X @ w - y) + c / 2 * B.sqnorm(w), decl=scal("c"),
  formula=lambda B, X, y, w, c: 0.5 * B.sqnorm(w),
  book="1/2 ||w||^2")

# --------------------------------------------------------------------------- scalar by matrix
R("sm_tr", "tr(X)", "X", {"X": "matrix[n,n]"}, lambda B, X: B.tr(X),
  expected="I", formula=lambda B, X: B.eye(3), flags=("cookbook", "wiki"),
  book="I", ref="MC 2.5.1")
R("sm_tr_AX", "tr(A X)", "X", {"A": "matrix[m,n]", "X": "matrix[n,m]"},
  lambda B, A, X: B.tr(A @ X), expected="A^T", formula=lambda B, A, X: A.T,
  flags=("cookbook", "wiki"),
  book="A^T", ref="MC 2.5.1")
R("sm_tr_XA", "tr(X A)", "X", {"A": "matrix[m,n]", "X": "matrix[n,m]"},
  lambda B, A, X: B.tr(X @ A), formula=lambda B, A, X: A.T, flags=("cookbook",),
  book="A^T", ref="MC 2.5.1")
R("sm_tr_AXC", "tr(A X C)", "X", {"A": "matrix[k,n]", "X": "matrix[n,m]", "C": "matrix[m,k]"},
  lambda B, A, X, C: B.tr(A @ X @ C), formula=lambda B, A, X, C: A.T @ C.T, flags=("cookbook",),
  book="A^T C^T", ref="MC 2.5.1")
R("sm_tr_AXTC", "tr(A X^T C)", "X", {"A": "matrix[k,m]", "X": "matrix[n,m]", "C": "matrix[n,k]"},
  lambda B, A, X, C: B.tr(A @ X.T @ C), formula=lambda B, A, X, C: C @ A, flags=("cookbook",),
  book="C A", ref="MC 2.5.1")
R("sm_tr_XTA", "tr(X^T A)", "X", {"A": "matrix[n,m]", "X": "matrix[n,m]"},
  lambda B, A, X: B.tr(X.T @ A), formula=lambda B, A, X: A, flags=("cookbook",),
  book="A", ref="MC 2.5.1")
R("sm_tr_X2", "tr(X^2)", "X", {"X": "matrix[n,n]"}, lambda B, X: B.tr(B.mpow(X, 2)),
  formula=lambda B, X: 2 * X.T, flags=("cookbook", "power"),
  book="2 X^T", ref="MC 2.5.2")
R("sm_tr_X3", "tr(X^3)", "X", {"X": "matrix[n,n]"}, lambda B, X: B.tr(B.mpow(X, 3)),
  formula=lambda B, X: 3 * (X @ X).T, flags=("cookbook", "power"),
  book="3 (X^2)^T", ref="MC 2.5.3: k (X^(k-1))^T")
R("sm_tr_XTX", "tr(X^T X)", "X", {"X": "matrix[n,m]"}, lambda B, X: B.tr(X.T @ X),
  formula=lambda B, X: 2 * X, flags=("cookbook",),
  book="2 X", ref="MC 2.5.2")
R("sm_tr_XXT", "tr(X X^T)", "X", {"X": "matrix[n,m]"}, lambda B, X: B.tr(X @ X.T),
  formula=lambda B, X: 2 * X, flags=("cookbook",),
  book="2 X", ref="MC 2.5.2")
R("sm_tr_XTAX", "tr(X^T A X)", "X", {"A": "matrix[n,n]", "X": "matrix[n,m]"},
  lambda B, A, X: B.tr(X.T @ A @ X), expected="(A + A^T) X",
  formula=lambda B, A, X: (A + A.T) @ X, flags=("cookbook", "wiki"),
  book="A X + A^T X", ref="MC 2.5.2: B X + B^T X")
R("sm_tr_XAXT", "tr(X A X^T)", "X", {"A": "matrix[m,m]", "X": "matrix[n,m]"},
  lambda B, A, X: B.tr(X @ A @ X.T), formula=lambda B, A, X: X @ (A + A.T), flags=("cookbook",),
  book="X A^T + X A", ref="MC 2.5.2: X B^T + X B")
R("sm_tr_DTXTCXD", "tr(D^T X^T C X D)", "X",
  {"D": "matrix[m,k]", "X": "matrix[n,m]", "C": "matrix[n,n]"},
  lambda B, D, X, C: B.tr(D.T @ X.T @ C @ X @ D),
  formula=lambda B, D, X, C: C.T @ X @ D @ D.T + C @ X @ D @ D.T, flags=("cookbook",),
  book="C^T X D D^T + C X D D^T", ref="MC 2.5.2: C^T X B B^T + C X B B^T")
R("sm_tr_XTCXD", "tr(X^T C X D)", "X", {"C": "matrix[n,n]", "X": "matrix[n,m]", "D": "matrix[m,m]"},
  lambda B, C, X, D: B.tr(X.T @ C @ X @ D),
  formula=lambda B, C, X, D: C @ X @ D + C.T @ X @ D.T, flags=("cookbook",),
  book="C X D + C^T X D^T", ref="MC 2.5.2: B X C + B^T X C^T")
R("sm_tr_inv", "tr(X^-1)", "X", {"X": "matrix[n,n] inv"}, lambda B, X: B.tr(B.inv(X)),
  formula=lambda B, X: -(B.inv(X) @ B.inv(X)).T, flags=("cookbook", "inverse"),
  book="-(X^-2)^T", ref="MC 2.5.1 (63) with A = B = I")
R("sm_tr_AinvXC", "tr(A X^-1 C)", "X", {"A": "matrix[k,n]", "X": "matrix[n,n] inv",
                                        "C": "matrix[n,k]"},
  lambda B, A, X, C: B.tr(A @ B.inv(X) @ C),
  formula=lambda B, A, X, C: -(B.inv(X) @ C @ A @ B.inv(X)).T, flags=("cookbook", "inverse"),
  book="-(X^-1 C A X^-1)^T", ref="MC 2.5.1 (63)")
R("sm_aTXb", "a^T X b", "X", {"a": "vector[n]", "X": "matrix[n,m]", "b": "vector[m]"},
  lambda B, a, X, b: a.T @ X @ b, expected="a b^T", formula=lambda B, a, X, b: a @ b.T,
  flags=("cookbook", "wiki"),
  book="a b^T", ref="MC 2.4.1 (70)")
R("sm_aTXTb", "a^T X^T b", "X", {"a": "vector[m]", "X": "matrix[n,m]", "b": "vector[n]"},
  lambda B, a, X, b: a.T @ X.T @ b, formula=lambda B, a, X, b: b @ a.T,
  flags=("cookbook", "wiki"),
  book="b a^T", ref="MC 2.4.1 (71)")
R("sm_aTXa", "a^T X a", "X", {"a": "vector[n]", "X": "matrix[n,n]"},
  lambda B, a, X: a.T @ X @ a, formula=lambda B, a, X: a @ a.T, flags=("cookbook",),
  book="a a^T", ref="MC 2.4.1")
R("sm_bTXTXc", "b^T X^T X c", "X", {"b": "vector[m]", "X": "matrix[n,m]", "c": "vector[m]"},
  lambda B, b, X, c: b.T @ X.T @ X @ c, formula=lambda B, b, X, c: X @ (b @ c.T + c @ b.T),
  flags=("cookbook",),
  book="X (b c^T + c b^T)", ref="MC 2.4.2")
R("sm_affine_quad", "(X b + c)^T D (X b + c)", "X",
  {"X": "matrix[n,m]", "b": "vector[m]", "c": "vector[n]", "D": "matrix[n,n]"},
  lambda B, X, b, c, D: (X @ b + c).T @ D @ (X @ b + c),
  formula=lambda B, X, b, c, D: (D + D.T) @ (X @ b + c) @ b.T, flags=("cookbook",),
  book="(D + D^T) (X b + c) b^T", ref="MC 2.4.2")
R("sm_fro", "||X||_F", "X", {"X": "matrix[n,m]"}, lambda B, X: B.fro(X),
  formula=lambda B, X: X / B.fro(X), flags=("cookbook", "norm"),
  book="X / ||X||_F", ref="MC 2.6")
R("sm_fro2", "||X||_F^2", "X", {"X": "matrix[n,m]"}, lambda B, X: B.fro(X) ** 2,
  formula=lambda B, X: 2 * X, flags=("cookbook", "norm"),
  book="2 X", ref="MC 2.6")
R("sm_det", "det(X)", "X", {"X": "matrix[n,n] inv"}, lambda B, X: B.det(X),
  formula=lambda B, X: B.det(X) * B.inv(X).T, flags=("cookbook", "wiki", "det"),
  book="det(X) X^-T", ref="MC 2.1.1 (49): det(X) X^-T")
R("sm_det_AXC", "det(A X C)", "X", {"A": "matrix[m,m] inv", "X": "matrix[m,m] inv",
                                    "C": "matrix[m,m] inv"},
  lambda B, A, X, C: B.det(A @ X @ C),
  formula=lambda B, A, X, C: B.det(A @ X @ C) * B.inv(X).T, flags=("cookbook", "det"),
  book="det(A X C) A^T (A X C)^-T C^T", ref="MC 2.1.1: det(AXB) A^T (AXB)^-T B^T")
R("sm_logdet", "logdet(X)", "X", {"X": "matrix[n,n] posdet"}, lambda B, X: B.logdet(X),
  formula=lambda B, X: B.inv(X).T, flags=("cookbook", "wiki", "det"),
  book="X^-T", ref="MC 2.1.1 (57): X^-T")
R("sm_log_det", "log(det(X))", "X", {"X": "matrix[n,n] posdet"}, lambda B, X: B.log(B.det(X)),
  formula=lambda B, X: B.inv(X).T, flags=("cookbook", "det"),
  book="X^-T", ref="MC 2.1.1 (57)")
R("sm_logdet_sym", "logdet(S)", "S", {"S": "symmetric[n] pd"}, lambda B, S: B.logdet(S),
  decl=SYM_S, formula=lambda B, S: B.inv(S), flags=("symmetric", "det"),
  book="S^-1")
R("sm_det_X2", "det(X^2)", "X", {"X": "matrix[n,n] inv"}, lambda B, X: B.det(B.mpow(X, 2)),
  formula=lambda B, X: 2 * B.det(X) ** 2 * B.inv(X).T, flags=("cookbook", "det", "power"),
  book="2 det(X^2) X^-T", ref="MC 2.1.1: k det(X^k) X^-T")
R("sm_logdet_gram", "logdet(X^T X)", "X", {"X": "matrix[n,m]"},
  lambda B, X: B.logdet(X.T @ X), formula=lambda B, X: 2 * X @ B.inv(X.T @ X),
  flags=("cookbook", "det"),
  book="2 X inv(X^T X)", ref="MC 2.1.1")
R("sm_det_gram", "det(X^T X)", "X", {"X": "matrix[n,m]"}, lambda B, X: B.det(X.T @ X),
  formula=lambda B, X: 2 * B.det(X.T @ X) * X @ B.inv(X.T @ X), flags=("cookbook", "det"),
  book="2 det(X^T X) X inv(X^T X)", ref="MC 2.1.1")
R("sm_aTinvXb", "a^T X^-1 b", "X", {"a": "vector[n]", "X": "matrix[n,n] inv", "b": "vector[n]"},
  lambda B, a, X, b: a.T @ B.inv(X) @ b,
  formula=lambda B, a, X, b: -B.inv(X).T @ a @ b.T @ B.inv(X).T, flags=("cookbook", "inverse"),
  book="-X^-T a b^T X^-T", ref="MC 2.2 (61): -X^-T a b^T X^-T")
R("sm_quad_invS", "x^T inv(S) x", "S", {"x": "vector[n]", "S": "symmetric[n] pd"},
  lambda B, x, S: x.T @ B.inv(S) @ x, decl=SYM_S,
  formula=lambda B, x, S: -B.inv(S) @ x @ x.T @ B.inv(S), flags=("symmetric", "inverse"),
  book="-S^-1 x x^T S^-1")
R("sm_gauss_nll_S", "1/2 logdet(S) + 1/2 (x - mu)^T inv(S) (x - mu)", "S",
  {"x": "vector[n]", "mu": "vector[n]", "S": "symmetric[n] pd"},
  lambda B, x, mu, S: 0.5 * B.logdet(S) + 0.5 * (x - mu).T @ B.inv(S) @ (x - mu), decl=SYM_S,
  formula=lambda B, x, mu, S: 0.5 * B.inv(S) - 0.5 * B.inv(S) @ (x - mu) @ (x - mu).T @ B.inv(S),
  flags=("symmetric", "ml"),
  book="1/2 (S^-1 - S^-1 (x - mu) (x - mu)^T S^-1)", ref="Bishop 2.3.4")
R("sm_tr_SC_sym", "tr(S C)", "S", {"S": "symmetric[n]", "C": "matrix[n,n]"},
  lambda B, S, C: B.tr(S @ C), decl=SYM_S, formula=lambda B, S, C: 0.5 * (C + C.T),
  flags=("symmetric",), ref="symmetric gradient (G + G^T)/2 with G = C^T",
  book="1/2 (C + C^T)")
R("sm_xTSy_sym", "x^T S y", "S", {"x": "vector[n]", "S": "symmetric[n]", "y": "vector[n]"},
  lambda B, x, S, y: x.T @ S @ y, decl=SYM_S,
  formula=lambda B, x, S, y: 0.5 * (x @ y.T + y @ x.T), flags=("symmetric",),
  book="1/2 (x y^T + y x^T)")
R("sm_sum", "sum(X)", "X", {"X": "matrix[n,m]"}, lambda B, X: B.sum(X),
  formula=lambda B, X: B.ones(3, 2),
  book="1 1^T")
R("sm_sum_exp", "sum(exp(X))", "X", {"X": "matrix[n,m]"}, lambda B, X: B.sum(B.exp(X)),
  formula=lambda B, X: B.exp(X), flags=("elementwise",),
  book="exp(X)")
R("sm_sum_log", "sum(log(X))", "X", {"X": "matrix[n,m] pos"}, lambda B, X: B.sum(B.log(X)),
  formula=lambda B, X: 1 / X, flags=("elementwise",),
  book="1 ./ X")
R("sm_sum_hadamard", "sum(A .* X)", "X", {"A": "matrix[n,m]", "X": "matrix[n,m]"},
  lambda B, A, X: B.sum(A * X), formula=lambda B, A, X: A, flags=("hadamard",),
  book="A")
R("sm_bilinear_hadamard", "a^T (X .* C) b", "X",
  {"a": "vector[n]", "X": "matrix[n,m]", "C": "matrix[n,m]", "b": "vector[m]"},
  lambda B, a, X, C, b: a.T @ (X * C) @ b, formula=lambda B, a, X, C, b: (a @ b.T) * C,
  flags=("hadamard",),
  book="(a b^T) .* C")
R("sm_u_tanh_Wx", "u^T tanh(W x)", "W", {"u": "vector[k]", "W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, u, W, x: u.T @ B.tanh(W @ x),
  formula=lambda B, u, W, x: ((1 - B.tanh(W @ x) ** 2) * u) @ x.T, flags=("ml",),
  book="(u .* (1 - tanh(W x) .^ 2)) x^T")
R("sm_lsq_W", "||W x - y||^2", "W", {"W": "matrix[k,n]", "x": "vector[n]", "y": "vector[k]"},
  lambda B, W, x, y: B.sqnorm(W @ x - y), formula=lambda B, W, x, y: 2 * (W @ x - y) @ x.T,
  book="2 (W x - y) x^T")
R("sm_lsq_X", "1/2 ||X w - y||^2", "X", {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k]"},
  lambda B, X, w, y: 0.5 * B.sqnorm(X @ w - y), formula=lambda B, X, w, y: (X @ w - y) @ w.T,
  book="(X w - y) w^T")
R("sm_tr_kron", "tr(kron(A, X))", "X", {"A": "matrix[m,m]", "X": "matrix[n,n]"},
  lambda B, A, X: B.tr(B.kron(A, X)), formula=lambda B, A, X: B.tr(A) * B.eye(3),
  flags=("kron",), ref="tr(A kron X) = tr(A) tr(X)",
  book="tr(A) I")
R("sm_sum_diag", "sum(diag(X))", "X", {"X": "matrix[n,n]"}, lambda B, X: B.sum(B.diag(X)),
  formula=lambda B, X: B.eye(3), flags=("diag",),
  book="I")
R("sm_aT_diag", "a^T diag(X)", "X", {"a": "vector[n]", "X": "matrix[n,n]"},
  lambda B, a, X: a.T @ B.diag(X), formula=lambda B, a, X: B.diag(a), flags=("diag",),
  book="diag(a)")
R("sm_tr_sq", "tr(X)^2", "X", {"X": "matrix[n,n]"}, lambda B, X: B.tr(X) ** 2,
  formula=lambda B, X: 2 * B.tr(X) * B.eye(3), flags=("cookbook",),
  book="2 tr(X) I", ref="MC 2.5.2")
R("sm_lse_by_X", "logsumexp(X w)", "X", {"X": "matrix[k,n]", "w": "vector[n]"},
  lambda B, X, w: B.logsumexp(X @ w), formula=lambda B, X, w: B.softmax(X @ w) @ w.T,
  book="softmax(X w) w^T")
R("sm_tr_XTAX_by_A", "tr(X^T A X)", "A", {"A": "matrix[n,n]", "X": "matrix[n,m]"},
  lambda B, A, X: B.tr(X.T @ A @ X), formula=lambda B, A, X: X @ X.T, flags=("cookbook",),
  book="X X^T", ref="MC 2.5.2")
R("sm_tr_gram2", "tr(X^T X X^T X)", "X", {"X": "matrix[n,m]"},
  lambda B, X: B.tr(X.T @ X @ X.T @ X), formula=lambda B, X: 4 * X @ X.T @ X,
  flags=("cookbook",),
  book="4 X X^T X", ref="MC 2.5.3")

# --------------------------------------------------------------------------- statement lists
TANH_NET = "h = tanh(W1 x + b1); yhat = W2 h + b2; 1/2 ||yhat - y||^2"
TANH_NET_DIMS = {"x": "vector[n]", "W1": "matrix[k,n]", "b1": "vector[k]",
                 "W2": "matrix[p,k]", "b2": "vector[p]", "y": "vector[p]"}


def _tanh_net(B, x, W1, b1, W2, b2, y):
    h = B.tanh(W1 @ x + b1)
    return 0.5 * B.sqnorm(W2 @ h + b2 - y)


def _tanh_net_delta(B, x, W1, b1, W2, b2, y):
    h = B.tanh(W1 @ x + b1)
    e = W2 @ h + b2 - y
    return h, e, (W2.T @ e) * (1 - h * h)


R("net_tanh_W1", TANH_NET, "W1", TANH_NET_DIMS, _tanh_net,
  formula=lambda B, **v: _tanh_net_delta(B, **v)[2] @ v["x"].T, flags=("stmt", "ml"),
  book="h = tanh(W1 x + b1); yhat = W2 h + b2; ((W2^T (yhat - y)) .* (1 - h .^ 2)) x^T", ref="Goodfellow 6.5.4 (algorithm 6.4): g ⊙ f'(a), then g h^T")
R("net_tanh_b1", TANH_NET, "b1", TANH_NET_DIMS, _tanh_net,
  formula=lambda B, **v: _tanh_net_delta(B, **v)[2], flags=("stmt", "ml"),
  book="h = tanh(W1 x + b1); yhat = W2 h + b2; (W2^T (yhat - y)) .* (1 - h .^ 2)", ref="Goodfellow 6.5.4")
R("net_tanh_W2", TANH_NET, "W2", TANH_NET_DIMS, _tanh_net,
  formula=lambda B, **v: _tanh_net_delta(B, **v)[1] @ _tanh_net_delta(B, **v)[0].T,
  flags=("stmt", "ml"),
  book="h = tanh(W1 x + b1); yhat = W2 h + b2; (yhat - y) h^T", ref="Goodfellow 6.5.4")


def _bce(B, X, w, y):
    p = B.sigmoid(X @ w)
    return -(y.T @ B.log(p)) - (1 - y).T @ B.log(1 - p)


R("net_bce", "z = X w; p = sigmoid(z); -y^T log(p) - (1 - y)^T log(1 - p)", "w",
  {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k] prob"}, _bce,
  formula=lambda B, X, w, y: X.T @ (B.sigmoid(X @ w) - y), flags=("stmt", "ml", "broadcast"),
  ref="binary cross-entropy of logistic regression; Bishop (4.91)",
  book="z = X w; p = sigmoid(z); X^T (p - y)")

# --------------------------------------------------------------------------- tensors (> 2 axes)
R("tensor_Wx_by_W", "W x", "W", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: W @ x, flags=("tensor", "seed"), ref="seed 002: vector by matrix")
R("tensor_outer_by_x", "x x^T", "x", {"x": "vector[n]"}, lambda B, x: x @ x.T,
  flags=("tensor",))
R("tensor_inv_by_X", "X^-1", "X", {"X": "matrix[n,n] inv"}, lambda B, X: B.inv(X),
  flags=("tensor", "inverse"))
R("tensor_square_by_X", "X^2", "X", {"X": "matrix[n,n]"}, lambda B, X: B.mpow(X, 2),
  flags=("tensor", "power"))
R("tensor_diag_by_x", "diag(x)", "x", {"x": "vector[n]"}, lambda B, x: B.diag(x),
  flags=("tensor", "diag"))

# matrix by matrix, vector by matrix, matrix by vector (Matrix Cookbook 2.4 "Derivatives of
# matrices, vectors and scalar forms"; Magnus & Neudecker ch. 9 for the vec forms)
R("tensor_X_by_X", "X", "X", {"X": "matrix[n,m]"}, lambda B, X: X, flags=("tensor", "cookbook"),
  ref="MC (73): dX_kl/dX_ij = δ_ik δ_lj")
R("tensor_XA_by_X", "X A", "X", {"X": "matrix[n,m]", "A": "matrix[m,k]"}, lambda B, X, A: X @ A,
  flags=("tensor", "cookbook"), ref="MC (74): d(XA)_ij/dX_mn = δ_im A_nj")
R("tensor_XTA_by_X", "X^T A", "X", {"X": "matrix[n,m]", "A": "matrix[n,k]"}, lambda B, X, A: X.T @ A,
  flags=("tensor", "cookbook"), ref="MC (75): d(X^T A)_ij/dX_mn = δ_in A_mj")
R("tensor_AXC_by_X", "A X C", "X", {"A": "matrix[k,n]", "X": "matrix[n,m]", "C": "matrix[m,p]"},
  lambda B, A, X, C: A @ X @ C, flags=("tensor", "mn"), ref="MN 9: d vec(AXB) = (B^T ⊗ A) d vec X")
R("tensor_XT_by_X", "X^T", "X", {"X": "matrix[n,m]"}, lambda B, X: X.T, flags=("tensor", "mn"),
  ref="MN 3.7: d vec(X^T) = K d vec X")
R("tensor_XTX_by_X", "X^T X", "X", {"X": "matrix[n,m]"}, lambda B, X: X.T @ X, flags=("tensor", "mn"))
R("tensor_XTCX_by_X", "X^T C X", "X", {"X": "matrix[n,m]", "C": "matrix[n,n]"},
  lambda B, X, C: X.T @ C @ X, flags=("tensor", "cookbook"), ref="MC (77)")
R("tensor_XCXT_by_X", "X C X^T", "X", {"X": "matrix[n,m]", "C": "matrix[m,m]"},
  lambda B, X, C: X @ C @ X.T, flags=("tensor", "cookbook"))
R("tensor_X3_by_X", "X^3", "X", {"X": "matrix[n,n]"}, lambda B, X: B.mpow(X, 3), flags=("tensor", "power"))
R("tensor_invA_by_X", "X^-1 A", "X", {"X": "matrix[n,n] inv", "A": "matrix[n,m]"},
  lambda B, X, A: B.inv(X) @ A, flags=("tensor", "inverse", "cookbook"), ref="MC (59)")
R("tensor_had_by_X", "X .* A", "X", {"X": "matrix[n,m]", "A": "matrix[n,m]"},
  lambda B, X, A: B.hadamard(X, A), flags=("tensor", "hadamard"))
R("tensor_exp_by_X", "exp(X)", "X", {"X": "matrix[n,m]"}, lambda B, X: B.exp(X), flags=("tensor",))
R("tensor_trX_X_by_X", "tr(X) X", "X", {"X": "matrix[n,n]"}, lambda B, X: B.tr(X) * X, flags=("tensor",))
R("tensor_xTX_by_X", "x^T X", "X", {"x": "vector[n]", "X": "matrix[n,m]"}, lambda B, x, X: x.T @ X,
  flags=("tensor",))
R("tensor_tanh_Wx_by_W", "tanh(W x)", "W", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.tanh(W @ x), flags=("tensor", "backprop"))
R("tensor_softmax_Wx_by_W", "softmax(W x)", "W", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.softmax(W @ x), flags=("tensor", "backprop"))
R("tensor_Sx_by_S", "S x", "S", {"S": "symmetric[n]", "x": "vector[n]"}, lambda B, S, x: S @ x,
  decl=SYM_S, flags=("tensor", "symmetric"))
R("tensor_AdiagxC_by_x", "A diag(x) C", "x", {"A": "matrix[k,n]", "x": "vector[n]", "C": "matrix[n,m]"},
  lambda B, A, x, C: A @ B.diag(x) @ C, flags=("tensor", "diag"))
R("tensor_quad_A_by_x", "(x^T x) A", "x", {"x": "vector[n]", "A": "matrix[k,m]"},
  lambda B, x, A: (x.T @ x) * A, flags=("tensor",))

# --------------------------------------------------------------------------- identification
# Forms that need the less common adjoint rules of rules/identify.rules (each rule is used by
# at least one row of this table: tests/test_rules.py).
R("identify_trace_moves", "tr(A diag(X y)) + tr(A (X + sum(X))) + sum(C .* X^T) + tr(A X D) + tr(X) tr(F X) "
  "+ x^T diag(X)", "X",
  {"A": "matrix[m,m]", "X": "matrix[m,m]", "y": "vector[m]", "C": "matrix[m,m]", "D": "matrix[m,m]",
   "F": "matrix[m,m]", "x": "vector[m]"},
  lambda B, A, X, y, C, D, F, x: (B.tr(A @ B.diag(X @ y)) + B.tr(A @ (X + B.sum(X)[0, 0]))
                                  + B.sum(B.hadamard(C, X.T)) + B.tr(A @ X @ D) + B.tr(X) * B.tr(F @ X)
                                  + x.T @ B.diag(X)), flags=("identification",))
R("identify_kron_rows", "sum(kron(x^T, y^T))", "x", {"x": "vector[n]", "y": "vector[m]"},
  lambda B, x, y: B.sum(B.kron(x.T, y.T)), flags=("identification",))
R("identify_vector_moves", "x + sum(x) + (y^T diag(x) A z) w + A (C .* (x y^T)) z + diag((x y^T) .* C)", "x",
  {"x": "vector[n]", "y": "vector[n]", "A": "matrix[n,n]", "z": "vector[n]", "w": "vector[n]",
   "C": "matrix[n,n]"},
  lambda B, x, y, A, z, w, C: (x + B.sum(x)[0, 0] + (y.T @ B.diag(x) @ A @ z)[0, 0] * w
                               + A @ B.hadamard(C, x @ y.T) @ z + B.diag(B.hadamard(x @ y.T, C))),
  flags=("identification",))
R("identify_row_moves", "(x^T A) (x y^T) + y^T diag(x) A", "x",
  {"x": "vector[n]", "A": "matrix[n,n]", "y": "vector[n]"},
  lambda B, x, A, y: (x.T @ A) @ (x @ y.T) + y.T @ B.diag(x) @ A, flags=("identification",))
R("identify_spreads", "A (X X)^T z + A (C .* (X X)^T) z + A (C .* (X .* D)^T) z + A (X .* D)^T z "
  "+ A (X + sum(X)) z", "X",
  {"A": "matrix[n,m]", "X": "matrix[m,m]", "z": "vector[m]", "C": "matrix[m,m]", "D": "matrix[m,m]"},
  lambda B, A, X, z, C, D: (A @ (X @ X).T @ z + A @ B.hadamard(C, (X @ X).T) @ z
                            + A @ B.hadamard(C, B.hadamard(X, D).T) @ z + A @ B.hadamard(X, D).T @ z
                            + A @ (X + B.sum(X)[0, 0]) @ z), flags=("tensor", "identification"))
R("identify_diagonals", "diag(X + sum(X)) + diag(X .* X)", "X", {"X": "matrix[n,n]"},
  lambda B, X: B.diag(X + B.sum(X)[0, 0]) + B.diag(B.hadamard(X, X)), flags=("tensor", "identification"))
R("identify_kron_rows_in_vec", "kron(kron(x^T, y^T) .* w^T, z)", "x",
  {"x": "vector[n]", "y": "vector[m]", "w": "vector[n*m]", "z": "vector[k]"},
  lambda B, x, y, w, z: B.kron(B.hadamard(B.kron(x.T, y.T), w.T), z), flags=("tensor", "identification"))
R("identify_rows_in_vec", "kron((x^T + y^T) (x z^T), w) + kron(y^T diag(x) A, w)", "x",
  {"x": "vector[n]", "y": "vector[n]", "z": "vector[m]", "w": "vector[k]", "A": "matrix[n,m]"},
  lambda B, x, y, z, w, A: B.kron((x.T + y.T) @ (x @ z.T), w) + B.kron(y.T @ B.diag(x) @ A, w),
  flags=("tensor", "identification"))
R("identify_kron_right_in_vec", "kron(A, X)", "X", {"A": "matrix[k,p]", "X": "matrix[m,n]"},
  lambda B, A, X: B.kron(A, X), flags=("tensor", "identification"))

# --------------------------------------------------------------------------- textbook and ML forms
# Issue 9: identities as the books print them, each with the book's form (`book=`) that
# benchmarks/textbook_form.py measures matcalc's answer against.  MC: the Matrix Cookbook
# (2012), section and equation; Bishop: PRML; Goodfellow: Deep Learning; MML: Deisenroth et al.
ISSUE9 = "issue 9 table"


def _square(*names):
    return {"declare": tuple(f"{name}: matrix[m,m]" for name in names)}


def _nll_softmax(B, y, logits):
    return -(y.T @ B.log(B.softmax(logits)))


# the nine rows of the issue's table, the book's form in every layout
R("tb_xent_softmax_b", "-y^T log(softmax(W x + b))", "b",
  {"y": "vector[k]", "W": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, y, W, x, b: _nll_softmax(B, y, W @ x + b),
  formula=lambda B, y, W, x, b: B.sum(y) * B.softmax(W @ x + b) - y, flags=("ml", "issue9"),
  ref=ISSUE9 + "; Goodfellow 6.2.2.3, Bishop (4.109) with sum(y) = 1",
  book="sum(y) softmax(W x + b) - y",
  book_layouts={"numerator": "(sum(y) softmax(W x + b) - y)^T", "denominator": "sum(y) softmax(W x + b) - y"})
R("tb_bce_w", "-sum(y .* log(sigmoid(X w)) + (1 - y) .* log(1 - sigmoid(X w)))", "w",
  {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k] prob"},
  lambda B, X, w, y: -B.sum(y * B.log(B.sigmoid(X @ w)) + (1 - y) * B.log(1 - B.sigmoid(X @ w))),
  formula=lambda B, X, w, y: X.T @ (B.sigmoid(X @ w) - y), flags=("ml", "issue9", "broadcast"),
  ref=ISSUE9 + "; Bishop (4.91)", book="X^T (sigmoid(X w) - y)",
  book_layouts={"numerator": "(sigmoid(X w) - y)^T X", "denominator": "X^T (sigmoid(X w) - y)"})
R("tb_gauss_S_sym", "logdet(S) + (x - mu)^T inv(S) (x - mu)", "S",
  {"x": "vector[m]", "mu": "vector[m]", "S": "symmetric[m] pd"},
  lambda B, x, mu, S: B.logdet(S) + (x - mu).T @ B.inv(S) @ (x - mu), decl=SYM_S,
  formula=lambda B, x, mu, S: B.inv(S) - B.inv(S) @ (x - mu) @ (x - mu).T @ B.inv(S),
  flags=("symmetric", "ml", "issue9"), ref=ISSUE9 + "; Bishop 2.3.4, MC 2.1.1 (57) and 2.2 (61)",
  book="S^-1 - S^-1 (x - mu) (x - mu)^T S^-1",
  book_layouts={"numerator": "S^-1 - S^-1 (x - mu) (x - mu)^T S^-1",
                "denominator": "S^-1 - S^-1 (x - mu) (x - mu)^T S^-1"})
R("tb_tr_S3_sym", "tr(S^3)", "S", {"S": "symmetric[n]"}, lambda B, S: B.tr(B.mpow(S, 3)), decl=SYM_S,
  formula=lambda B, S: 3 * S @ S, flags=("symmetric", "power", "issue9"), ref=ISSUE9 + "; MC 2.5.3",
  book="3 S^2", book_layouts={"numerator": "3 S^2", "denominator": "3 S^2"})
R("tb_logdet_AXC", "logdet(A X C)", "X",
  {"A": "matrix[m,m] posdet", "X": "matrix[m,m] posdet", "C": "matrix[m,m] posdet"},
  lambda B, A, X, C: B.logdet(A @ X @ C), decl=_square("A", "C"),
  formula=lambda B, A, X, C: B.inv(X).T, flags=("det", "issue9"),
  ref=ISSUE9 + " (logdet(A X B), A and B square; B is the oracle's backend here); MC 2.1.1 (57)",
  book="X^-T", book_layouts={"numerator": "X^-1", "denominator": "X^-T"})
R("tb_log_softmax_jac", "log(softmax(x))", "x", {"x": "vector[n]"}, lambda B, x: B.log(B.softmax(x)),
  formula=lambda B, x: B.eye(3) - B.ones(3) @ B.softmax(x).T, flags=("ml", "issue9"),
  ref=ISSUE9 + " prints the denominator layout I - softmax(x) 1^T",
  book="I - 1 softmax(x)^T", book_layouts={"numerator": "I - 1 softmax(x)^T",
                                           "denominator": "I - softmax(x) 1^T"})
R("tb_tr_X_inv2", "tr(X^-2)", "X", {"X": "matrix[m,m] inv"}, lambda B, X: B.tr(B.mpow(B.inv(X), 2)),
  formula=lambda B, X: -2 * B.mpow(B.inv(X), 3).T, flags=("inverse", "power", "issue9"),
  ref=ISSUE9 + "; MC 2.5.3 with k = -2", book="-2 (X^-3)^T",
  book_layouts={"numerator": "-2 X^-3", "denominator": "-2 (X^-3)^T"})
R("tb_gauss_Sigma", "logdet(Sigma) + (x - mu)^T inv(Sigma) (x - mu)", "Sigma",
  {"x": "vector[m]", "mu": "vector[m]", "Sigma": "matrix[m,m] pd"},
  lambda B, x, mu, Sigma: B.logdet(Sigma) + (x - mu).T @ B.inv(Sigma) @ (x - mu),
  formula=lambda B, x, mu, Sigma: B.inv(Sigma).T - B.inv(Sigma).T @ (x - mu) @ (x - mu).T @ B.inv(Sigma).T,
  flags=("ml", "issue9"), ref=ISSUE9 + "; MC 2.1.1 (57) and 2.2 (61)",
  book="Sigma^-T - Sigma^-T (x - mu) (x - mu)^T Sigma^-T",
  book_layouts={"numerator": "Sigma^-1 - Sigma^-1 (x - mu) (x - mu)^T Sigma^-1",
                "denominator": "Sigma^-T - Sigma^-T (x - mu) (x - mu)^T Sigma^-T"})

# softmax and cross-entropy
R("tb_tr_invSigma_C", "tr(inv(Sigma) C)", "Sigma", {"Sigma": "matrix[m,m] inv", "C": "matrix[m,m]"},
  lambda B, Sigma, C: B.tr(B.inv(Sigma) @ C),
  formula=lambda B, Sigma, C: -(B.inv(Sigma) @ C @ B.inv(Sigma)).T, flags=("cookbook", "inverse"),
  ref="MC 2.5.1 (63)", book="-(Sigma^-1 C Sigma^-1)^T")
R("tb_log_softmax_b", "log(softmax(W x + b))", "b", {"W": "matrix[k,n]", "x": "vector[n]", "b": "vector[k]"},
  lambda B, W, x, b: B.log(B.softmax(W @ x + b)),
  formula=lambda B, W, x, b: B.eye(4) - B.ones(4) @ B.softmax(W @ x + b).T, flags=("ml",),
  ref="log-softmax Jacobian", book="I - 1 softmax(W x + b)^T")
R("tb_log_softmax_Wx", "log(softmax(W x))", "x", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.log(B.softmax(W @ x)),
  formula=lambda B, W, x: (B.eye(4) - B.ones(4) @ B.softmax(W @ x).T) @ W, flags=("ml",),
  book="(I - 1 softmax(W x)^T) W")
R("tb_nxent_z", "-y^T log(softmax(z))", "z", {"y": "vector[n]", "z": "vector[n]"},
  lambda B, y, z: _nll_softmax(B, y, z), formula=lambda B, y, z: B.sum(y) * B.softmax(z) - y,
  flags=("ml",), ref="Goodfellow 6.2.2.3; Bishop (4.109)", book="sum(y) softmax(z) - y")
R("tb_nxent_x", "-y^T log(softmax(W x))", "x", {"y": "vector[k]", "W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, y, W, x: _nll_softmax(B, y, W @ x),
  formula=lambda B, y, W, x: W.T @ (B.sum(y) * B.softmax(W @ x) - y), flags=("ml",),
  book="W^T (sum(y) softmax(W x) - y)")
R("tb_nxent_W", "-y^T log(softmax(W x))", "W", {"y": "vector[k]", "W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, y, W, x: _nll_softmax(B, y, W @ x),
  formula=lambda B, y, W, x: (B.sum(y) * B.softmax(W @ x) - y) @ x.T, flags=("ml",),
  ref="Bishop (4.109): sum of (y_n - t_n) phi_n^T", book="(sum(y) softmax(W x) - y) x^T")
R("tb_bce_z", "y^T log(sigmoid(z)) + (1 - y)^T log(1 - sigmoid(z))", "z", {"y": "vector[n] prob", "z": "vector[n]"},
  lambda B, y, z: y.T @ B.log(B.sigmoid(z)) + (1 - y).T @ B.log(1 - B.sigmoid(z)),
  formula=lambda B, y, z: y - B.sigmoid(z), flags=("ml", "broadcast"), ref="Bishop (4.90)",
  book="y - sigmoid(z)")
R("tb_bce_sum_z", "sum(y .* log(sigmoid(z)) + (1 - y) .* log(1 - sigmoid(z)))", "z",
  {"y": "vector[n] prob", "z": "vector[n]"},
  lambda B, y, z: B.sum(y * B.log(B.sigmoid(z)) + (1 - y) * B.log(1 - B.sigmoid(z))),
  formula=lambda B, y, z: y - B.sigmoid(z), flags=("ml", "broadcast"), book="y - sigmoid(z)")
R("tb_lse_Wx", "log(sum(exp(W x)))", "x", {"W": "matrix[k,n]", "x": "vector[n]"},
  lambda B, W, x: B.log(B.sum(B.exp(W @ x))), formula=lambda B, W, x: W.T @ B.softmax(W @ x),
  flags=("ml",), book="W^T softmax(W x)")
R("tb_softplus_nll", "sum(softplus(X w)) - y^T X w", "w", {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k]"},
  lambda B, X, w, y: B.sum(B.softplus(X @ w)) - y.T @ X @ w,
  formula=lambda B, X, w, y: X.T @ (B.sigmoid(X @ w) - y), flags=("ml",),
  ref="logistic regression's negative log-likelihood; Bishop (4.91)", book="X^T (sigmoid(X w) - y)")

# sigmoid and tanh algebra, smooth losses
R("tb_sig_var", "sum(sigmoid(x) .* (1 - sigmoid(x)))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.sigmoid(x) * (1 - B.sigmoid(x))),
  formula=lambda B, x: B.sigmoid(x) * (1 - B.sigmoid(x)) * (1 - 2 * B.sigmoid(x)), flags=("elementwise",),
  ref="Bishop (4.88) twice", book="sigmoid(x) .* (1 - sigmoid(x)) .* (1 - 2 sigmoid(x))")
R("tb_sig_odd", "sum(sigmoid(x) + sigmoid(-x))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.sigmoid(x) + B.sigmoid(-x)), formula=lambda B, x: 0 * x, flags=("elementwise",),
  ref="sigmoid(-x) = 1 - sigmoid(x) (Goodfellow 3.10)", book="0")
R("tb_sig_diff", "sum(sigmoid(x)) - sum(sigmoid(-x))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.sigmoid(x)) - B.sum(B.sigmoid(-x)),
  formula=lambda B, x: 2 * B.sigmoid(x) * (1 - B.sigmoid(x)), flags=("elementwise",),
  book="2 sigmoid(x) .* (1 - sigmoid(x))")
R("tb_logcosh", "sum(log(exp(x) + exp(-x)))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.log(B.exp(x) + B.exp(-x))), formula=lambda B, x: B.tanh(x), flags=("elementwise", "ml"),
  ref="log-cosh loss (log cosh x + log 2)", book="tanh(x)")
R("tb_pseudo_huber", "sum(sqrt(1 + x .^ 2))", "x", {"x": "vector[n]"},
  lambda B, x: B.sum(B.sqrt(1 + x ** 2)), formula=lambda B, x: x / B.sqrt(1 + x ** 2),
  flags=("elementwise", "ml"), ref="pseudo-Huber loss (delta = 1)", book="x ./ sqrt(1 + x .^ 2)")
R("tb_abs3_grad", "sum(abs(x) .^ 3)", "x", {"x": "vector[n] away"}, lambda B, x: B.sum(B.abs(x) ** 3),
  formula=lambda B, x: 3 * x * B.abs(x), flags=("elementwise", "kink"), book="3 x .* abs(x)")
R("tb_ones_quot", "sum(x .^ 2 ./ x)", "x", {"x": "vector[n] away"}, lambda B, x: B.sum(x ** 2 / x),
  formula=lambda B, x: 0 * x + 1, flags=("elementwise",), book="1")

# determinants, inverses and traces (Matrix Cookbook)
R("tb_logdet_X2", "logdet(X^2)", "X", {"X": "matrix[m,m] inv"}, lambda B, X: B.logdet(B.mpow(X, 2)),
  formula=lambda B, X: 2 * B.inv(X).T, flags=("cookbook", "det"), ref="MC 2.1.1 (57)", book="2 X^-T")
R("tb_logdet_AX", "logdet(A X)", "X", {"A": "matrix[m,m] posdet", "X": "matrix[m,m] posdet"},
  lambda B, A, X: B.logdet(A @ X), decl=_square("A"), formula=lambda B, A, X: B.inv(X).T,
  flags=("cookbook", "det"), ref="MC 2.1.1 (57), A square", book="X^-T")
R("tb_logdet_XC", "logdet(X C)", "X", {"X": "matrix[m,m] posdet", "C": "matrix[m,m] posdet"},
  lambda B, X, C: B.logdet(X @ C), decl=_square("C"), formula=lambda B, X, C: B.inv(X).T,
  flags=("cookbook", "det"), ref="MC 2.1.1 (57), C square", book="X^-T")
R("tb_det_AXC", "det(A X C)", "X", {"A": "matrix[m,m] inv", "X": "matrix[m,m] inv", "C": "matrix[m,m] inv"},
  lambda B, A, X, C: B.det(A @ X @ C), decl=_square("A", "C"),
  formula=lambda B, A, X, C: B.det(A @ X @ C) * B.inv(X).T, flags=("cookbook", "det"),
  ref="MC 2.1.1, A and C square", book="det(A X C) X^-T")
R("tb_det_inv", "det(inv(X))", "X", {"X": "matrix[m,m] inv"}, lambda B, X: B.det(B.inv(X)),
  formula=lambda B, X: -B.det(B.inv(X)) * B.inv(X).T, flags=("cookbook", "det"), ref="MC 2.1.1",
  book="-det(X^-1) X^-T")
R("tb_det_sym", "det(S)", "S", {"S": "symmetric[m] pd"}, lambda B, S: B.det(S), decl=SYM_S,
  formula=lambda B, S: B.det(S) * B.inv(S), flags=("symmetric", "det"), ref="MC 2.1.1 (49), symmetric",
  book="det(S) S^-1")
R("tb_tr_invX_A", "tr(inv(X) A)", "X", {"X": "matrix[m,m] inv", "A": "matrix[m,m]"},
  lambda B, X, A: B.tr(B.inv(X) @ A), formula=lambda B, X, A: -(B.inv(X) @ A @ B.inv(X)).T,
  flags=("cookbook", "inverse"), ref="MC 2.5.1 (63)", book="-(X^-1 A X^-1)^T")
R("tb_tr_X_inv3", "tr(X^-3)", "X", {"X": "matrix[m,m] inv"}, lambda B, X: B.tr(B.mpow(B.inv(X), 3)),
  formula=lambda B, X: -3 * B.mpow(B.inv(X), 4).T, flags=("cookbook", "inverse", "power"),
  ref="MC 2.5.3 with k = -3", book="-3 (X^-4)^T")
R("tb_tr_inv_AXC", "tr(inv(A X C))", "X", {"A": "matrix[m,m] inv", "X": "matrix[m,m] inv", "C": "matrix[m,m] inv"},
  lambda B, A, X, C: B.tr(B.inv(A @ X @ C)), decl=_square("A", "C"),
  formula=lambda B, A, X, C: -(C @ B.mpow(B.inv(A @ X @ C), 2) @ A).T, flags=("cookbook", "inverse"),
  ref="MC 2.5.1 (63)", book="-(C inv(A X C)^2 A)^T")
R("tb_tr_inv_AX", "tr(inv(A X))", "X", {"A": "matrix[m,m] inv", "X": "matrix[m,m] inv"},
  lambda B, A, X: B.tr(B.inv(A @ X)), decl=_square("A"),
  formula=lambda B, A, X: -(B.inv(A @ X) @ B.inv(X)).T, flags=("cookbook", "inverse"),
  ref="MC 2.5.1 (63)", book="-(inv(A X) X^-1)^T")
R("tb_logdet_inv_AX", "logdet(inv(A X))", "X", {"A": "matrix[m,m] posdet", "X": "matrix[m,m] posdet"},
  lambda B, A, X: B.logdet(B.inv(A @ X)), decl=_square("A"), formula=lambda B, A, X: -B.inv(X).T,
  flags=("cookbook", "det"), ref="MC 2.1.1 (57)", book="-X^-T")
R("tb_tr_AXBXT", "tr(A X C X^T)", "X", {"A": "matrix[n,n]", "X": "matrix[n,m]", "C": "matrix[m,m]"},
  lambda B, A, X, C: B.tr(A @ X @ C @ X.T), formula=lambda B, A, X, C: A.T @ X @ C.T + A @ X @ C,
  flags=("cookbook",), ref="MC 2.5.2: A^T X B^T + A X B", book="A^T X C^T + A X C")
R("tb_pca_trace", "tr(W^T S W)", "W", {"W": "matrix[n,m]", "S": "symmetric[n]"},
  lambda B, W, S: B.tr(W.T @ S @ W), decl=SYM_S, formula=lambda B, W, S: 2 * S @ W,
  flags=("cookbook", "symmetric", "ml"), ref="Bishop 12.1 (PCA), MC 2.5.2", book="2 S W")

# symmetric matrices (the symmetric gradient; SYNTAX.md)
R("tb_tr_S_inv_sym", "tr(S^-1)", "S", {"S": "symmetric[m] pd"}, lambda B, S: B.tr(B.inv(S)), decl=SYM_S,
  formula=lambda B, S: -B.inv(S) @ B.inv(S), flags=("symmetric", "inverse"), ref="MC 2.5.1, symmetric",
  book="-S^-2")
R("tb_tr_S_inv2_sym", "tr(S^-2)", "S", {"S": "symmetric[m] pd"}, lambda B, S: B.tr(B.mpow(B.inv(S), 2)),
  decl=SYM_S, formula=lambda B, S: -2 * B.mpow(B.inv(S), 3), flags=("symmetric", "inverse"),
  book="-2 S^-3")
R("tb_logdet_S2_sym", "logdet(S^2)", "S", {"S": "symmetric[m] pd"}, lambda B, S: B.logdet(S @ S),
  decl=SYM_S, formula=lambda B, S: 2 * B.inv(S), flags=("symmetric", "det"), book="2 S^-1")
R("tb_det_S3_sym", "det(S^3)", "S", {"S": "symmetric[m] pd"}, lambda B, S: B.det(B.mpow(S, 3)),
  decl=SYM_S, formula=lambda B, S: 3 * B.det(B.mpow(S, 3)) * B.inv(S), flags=("symmetric", "det"),
  book="3 det(S^3) S^-1")
R("tb_tr_S4_sym", "tr(S^4)", "S", {"S": "symmetric[n]"}, lambda B, S: B.tr(B.mpow(S, 4)), decl=SYM_S,
  formula=lambda B, S: 4 * B.mpow(S, 3), flags=("symmetric", "power"), book="4 S^3")
R("tb_quad_S3_sym", "x^T S^3 x", "x", {"x": "vector[n]", "S": "symmetric[n]"},
  lambda B, x, S: x.T @ B.mpow(S, 3) @ x, decl=SYM_S, formula=lambda B, x, S: 2 * B.mpow(S, 3) @ x,
  flags=("symmetric", "power"), book="2 S^3 x")
R("tb_wishart_sym", "logdet(S) + tr(inv(S) C)", "S", {"S": "symmetric[m] pd", "C": "symmetric[m]"},
  lambda B, S, C: B.logdet(S) + B.tr(B.inv(S) @ C), decl={"symmetric": ("S", "C")},
  formula=lambda B, S, C: B.inv(S) - B.inv(S) @ C @ B.inv(S), flags=("symmetric", "ml"),
  ref="Bishop 2.3.4 (the maximum-likelihood covariance)", book="S^-1 - S^-1 C S^-1")
R("tb_precision_sym", "-logdet(S) + tr(S C)", "S", {"S": "symmetric[m] pd", "C": "symmetric[m]"},
  lambda B, S, C: -B.logdet(S) + B.tr(S @ C), decl={"symmetric": ("S", "C")},
  formula=lambda B, S, C: C - B.inv(S), flags=("symmetric", "ml"), ref="graphical lasso objective",
  book="C - S^-1")
R("tb_mahalanobis_x", "(x - mu)^T inv(S) (x - mu)", "x", {"x": "vector[m]", "mu": "vector[m]", "S": "symmetric[m] pd"},
  lambda B, x, mu, S: (x - mu).T @ B.inv(S) @ (x - mu), decl=SYM_S,
  formula=lambda B, x, mu, S: 2 * B.inv(S) @ (x - mu), flags=("symmetric", "ml"), ref="MC 2.4.2: 2 W (x - s)",
  book="2 S^-1 (x - mu)")
R("tb_weighted_lsq", "(y - X w)^T S (y - X w)", "w",
  {"y": "vector[k]", "X": "matrix[k,n]", "w": "vector[n]", "S": "symmetric[k]"},
  lambda B, y, X, w, S: (y - X @ w).T @ S @ (y - X @ w), decl=SYM_S,
  formula=lambda B, y, X, w, S: -2 * X.T @ S @ (y - X @ w), flags=("symmetric", "ml"),
  ref="weighted least squares; MC 2.4.2", book="-2 X^T S (y - X w)")

# least squares, ridge, factorisations, networks
R("tb_lsq_half", "1/2 ||X w - y||^2", "w", {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k]"},
  lambda B, X, w, y: 0.5 * B.sqnorm(X @ w - y), formula=lambda B, X, w, y: X.T @ (X @ w - y),
  flags=("ml",), ref="Goodfellow 5.1.4 (normal equations)", book="X^T (X w - y)")
R("tb_factor_U", "||X - U V^T||_F^2", "U", {"X": "matrix[n,m]", "U": "matrix[n,k]", "V": "matrix[m,k]"},
  lambda B, X, U, V: B.sqnorm(X - U @ V.T), formula=lambda B, X, U, V: -2 * (X - U @ V.T) @ V,
  flags=("ml",), ref="low-rank factorisation", book="-2 (X - U V^T) V")
R("tb_factor_V", "||X - U V^T||_F^2", "V", {"X": "matrix[n,m]", "U": "matrix[n,k]", "V": "matrix[m,k]"},
  lambda B, X, U, V: B.sqnorm(X - U @ V.T), formula=lambda B, X, U, V: -2 * (X - U @ V.T).T @ U,
  flags=("ml",), book="-2 (X - U V^T)^T U")
R("tb_cosine", "x^T y / (||x|| ||y||)", "x", {"x": "vector[n]", "y": "vector[n]"},
  lambda B, x, y: (x.T @ y) / (B.norm(x) * B.norm(y)),
  formula=lambda B, x, y: y / (B.norm(x) * B.norm(y)) - (x.T @ y) * x / (B.norm(x) ** 3 * B.norm(y)),
  flags=("ml",), ref="cosine similarity", book="y / (||x|| ||y||) - (x^T y) x / (||x||^3 ||y||)")

RELU_NET = "h = relu(W1 x); 1/2 ||W2 h - y||^2"
RELU_NET_DIMS = {"W1": "matrix[k,n]", "x": "vector[n]", "W2": "matrix[m,k]", "y": "vector[m]"}


def _relu_net(B, W1, x, W2, y):
    return 0.5 * B.sqnorm(W2 @ B.relu(W1 @ x) - y)


R("tb_relu_net_W2", RELU_NET, "W2", RELU_NET_DIMS, _relu_net,
  formula=lambda B, W1, x, W2, y: (W2 @ B.relu(W1 @ x) - y) @ B.relu(W1 @ x).T,
  guard=_min_abs(lambda B, W1, x, W2, y: W1 @ x), flags=("stmt", "ml", "kink"), ref="Goodfellow 6.5.4",
  book="h = relu(W1 x); (W2 h - y) h^T")
R("tb_relu_net_W1", RELU_NET, "W1", RELU_NET_DIMS, _relu_net,
  formula=lambda B, W1, x, W2, y: ((W2.T @ (W2 @ B.relu(W1 @ x) - y)) * (W1 @ x > 0)) @ x.T,
  guard=_min_abs(lambda B, W1, x, W2, y: W1 @ x), flags=("stmt", "ml", "kink"), ref="Goodfellow 6.5.4",
  book="h = relu(W1 x); ((W2^T (W2 h - y)) .* step(W1 x)) x^T")

# Kronecker products (Magnus and Neudecker 2: the mixed product (A ⊗ B)(C ⊗ D) = AC ⊗ BD)
R("tb_kron_x", "a^T kron(A, C) kron(x, y)", "x",
  {"a": "vector[k*m]", "A": "matrix[k,n]", "C": "matrix[m,p]", "x": "vector[n]", "y": "vector[p]"},
  lambda B, a, A, C, x, y: a.T @ B.kron(A, C) @ B.kron(x, y),
  formula=lambda B, a, A, C, x, y: B.kron(A.T, (C @ y).T) @ a, flags=("kron",),
  ref="Magnus and Neudecker 2 (mixed product)", book="kron(A^T, (C y)^T) a")
R("tb_kron_y", "a^T kron(A, C) kron(x, y)", "y",
  {"a": "vector[k*m]", "A": "matrix[k,n]", "C": "matrix[m,p]", "x": "vector[n]", "y": "vector[p]"},
  lambda B, a, A, C, x, y: a.T @ B.kron(A, C) @ B.kron(x, y),
  formula=lambda B, a, A, C, x, y: B.kron((A @ x).T, C.T) @ a, flags=("kron",),
  ref="Magnus and Neudecker 2 (mixed product)", book="kron((A x)^T, C^T) a")
R("tb_kron_tr", "tr(kron(A, C) kron(D, F) X)", "X",
  {"A": "matrix[m,n]", "C": "matrix[m,m]", "D": "matrix[n,m]", "F": "matrix[m,m]", "X": "matrix[m*m,m*m]"},
  lambda B, A, C, D, F, X: B.tr(B.kron(A, C) @ B.kron(D, F) @ X),
  formula=lambda B, A, C, D, F, X: B.kron(A @ D, C @ F).T, flags=("kron",),
  ref="Magnus and Neudecker 2 (mixed product); MC 2.5.1", book="kron(A D, C F)^T")
R("tb_kron_quad", "x^T kron(A, C) kron(D, F) x", "x",
  {"x": "vector[m*m]", "A": "matrix[m,n]", "C": "matrix[m,m]", "D": "matrix[n,m]", "F": "matrix[m,m]"},
  lambda B, x, A, C, D, F: x.T @ B.kron(A, C) @ B.kron(D, F) @ x,
  formula=lambda B, x, A, C, D, F: (B.kron(A @ D, C @ F) + B.kron(A @ D, C @ F).T) @ x, flags=("kron",),
  ref="Magnus and Neudecker 2 (mixed product); MC 2.4.2 (81)", book="(kron(A D, C F) + kron(A D, C F)^T) x")

# a scalar of a Kronecker product with the variable in a factor, and of vec(X) (issue 9, item 6;
# rows from the engineer of that item: they reach identify.rules' trace-kron and trace-vec rules)
R("kron_sum_left", "sum(kron(X, A))", "X", {"X": "matrix[n,m]", "A": "matrix[k,p]"},
  lambda B, X, A: B.sum(B.kron(X, A)), formula=lambda B, X, A: B.sum(A) * B.ones(3, 2), flags=("kron",),
  ref="sum(X ⊗ A) = sum(X) sum(A)", book="sum(A) (1 1^T)")
R("kron_sum_right", "sum(kron(A, X))", "X", {"A": "matrix[k,p]", "X": "matrix[n,m]"},
  lambda B, A, X: B.sum(B.kron(A, X)), formula=lambda B, A, X: B.sum(A) * B.ones(3, 2), flags=("kron",),
  ref="sum(A ⊗ X) = sum(A) sum(X)", book="sum(A) (1 1^T)")
R("kron_trace_mixed_right", "tr(kron(A, D) kron(C, X))", "X",
  {"A": "matrix[n,m]", "D": "matrix[m,k]", "C": "matrix[m,n]", "X": "matrix[k,m]"},
  lambda B, A, D, C, X: B.tr(B.kron(A, D) @ B.kron(C, X)), formula=lambda B, A, D, C, X: B.tr(A @ C) * D.T,
  flags=("kron",), ref="Magnus and Neudecker 2: tr((A ⊗ D)(C ⊗ X)) = tr(A C) tr(D X)", book="tr(A C) D^T")
R("kron_trace_mixed", "tr(kron(A, D) kron(X, C))", "X",
  {"A": "matrix[n,m]", "D": "matrix[m,k]", "X": "matrix[m,n]", "C": "matrix[k,m]"},
  lambda B, A, D, X, C: B.tr(B.kron(A, D) @ B.kron(X, C)), formula=lambda B, A, D, X, C: B.tr(D @ C) * A.T,
  flags=("kron",), ref="Magnus and Neudecker 2: tr((A ⊗ D)(X ⊗ C)) = tr(A X) tr(D C)", book="tr(D C) A^T")
R("vec_quadratic_kron", "vec(X)^T kron(A, D) vec(X)", "X", {"X": "matrix[n,m]", "A": "matrix[m,m]", "D": "matrix[n,n]"},
  lambda B, X, A, D: X.reshape(-1, 1, order="F").T @ B.kron(A, D) @ X.reshape(-1, 1, order="F"),
  decl={"declare": ("X: matrix[n,m]", "A: matrix[m,m]", "D: matrix[n,n]")},
  formula=lambda B, X, A, D: D @ X @ A.T + D.T @ X @ A, flags=("kron",),
  ref="Magnus and Neudecker 2: (A ⊗ D) vec X = vec(D X A^T), so f = tr(X^T D X A^T)", book="D X A^T + D^T X A")

R("kron_logdet_right", "logdet(kron(A, X))", "X", {"A": "matrix[2,2] posdet", "X": "matrix[2,2] posdet"},
  lambda B, A, X: B.logdet(B.kron(A, X)), decl={"declare": ("A: matrix[2,2]", "X: matrix[2,2]")},
  formula=lambda B, A, X: 2 * B.inv(X).T, flags=("kron",),
  ref="Magnus and Neudecker 2: det(A ⊗ X) = det(A)^n det(X)^m for A m x m, X n x n", book="2 X^-T")
R("kron_logdet_left", "logdet(kron(X, A))", "X", {"X": "matrix[2,2] posdet", "A": "matrix[2,2] posdet"},
  lambda B, X, A: B.logdet(B.kron(X, A)), decl={"declare": ("X: matrix[2,2]", "A: matrix[2,2]")},
  formula=lambda B, X, A: 2 * B.inv(X).T, flags=("kron",),
  ref="Magnus and Neudecker 2: det(X ⊗ A) = det(X)^m det(A)^n for X n x n, A m x m", book="2 X^-T")

ROW_IDS = [r.id for r in ROWS]
PARAM_ROWS = [pytest.param(r, id=r.id) for r in ROWS]
EXPECTED_ROWS = [r for r in ROWS if r.expected is not None]
VECTOR_INPUT_ROWS = [r for r in ROWS
                     if any(oracle.parse_spec(s).kind == "vector" for s in r.dims.values())]


# --------------------------------------------------------------------------- Hessians
# (id, expr, wrt, dims, fn, decl, formula of the n x n matrix of second partials)
HESSIANS = [
    ("hess_xTAx", "x^T A x", "x", {"x": "vector[n]", "A": "matrix[n,n]"},
     lambda B, x, A: x.T @ A @ x, {}, lambda B, x, A: A + A.T),
    ("hess_norm2", "||x||^2", "x", {"x": "vector[n]"}, lambda B, x: B.sqnorm(x), {},
     lambda B, x: 2 * B.eye(3)),
    ("hess_sum_exp", "sum(exp(x))", "x", {"x": "vector[n]"}, lambda B, x: B.sum(B.exp(x)), {},
     lambda B, x: B.diag(B.exp(x))),
    ("hess_lse", "logsumexp(x)", "x", {"x": "vector[n]"}, lambda B, x: B.logsumexp(x), {},
     lambda B, x: B.diag(B.softmax(x)) - B.softmax(x) @ B.softmax(x).T),
    ("hess_lsq", "1/2 ||y - Phi theta||^2", "theta",
     {"y": "vector[k]", "Phi": "matrix[k,n]", "theta": "vector[n]"},
     lambda B, y, Phi, theta: 0.5 * B.sqnorm(y - Phi @ theta), {},
     lambda B, y, Phi, theta: Phi.T @ Phi),
    ("hess_logistic", "sum(log(1 + exp(-y .* (X w))))", "w",
     {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]"},
     lambda B, X, y, w: B.sum(B.log(1 + B.exp(-y * (X @ w)))), {},
     lambda B, X, y, w: X.T @ B.diag(y * y * B.sigmoid(-y * (X @ w))
                                     * (1 - B.sigmoid(-y * (X @ w)))) @ X),
    ("hess_t3", "t^3", "t", {"t": "scalar"}, lambda B, t: t ** 3, {"scalars": ("t",)},
     lambda B, t: 6 * t),
    ("hess_abs3", "sum(abs(x) .^ 3)", "x", {"x": "vector[n] away"}, lambda B, x: B.sum(B.abs(x) ** 3), {},
     lambda B, x: 6 * B.diag(B.abs(x))),
    ("hess_sigmoid", "sum(sigmoid(x))", "x", {"x": "vector[n]"}, lambda B, x: B.sum(B.sigmoid(x)), {},
     lambda B, x: B.diag(B.sigmoid(x) * (1 - B.sigmoid(x)) * (1 - 2 * B.sigmoid(x)))),
    ("hess_logreg", "sum(softplus(X w)) - y^T X w", "w", {"X": "matrix[k,n]", "w": "vector[n]", "y": "vector[k]"},
     lambda B, X, w, y: B.sum(B.softplus(X @ w)) - y.T @ X @ w, {},
     lambda B, X, w, y: X.T @ B.diag(B.sigmoid(X @ w) * (1 - B.sigmoid(X @ w))) @ X),
    ("hess_ridge", "1/2 ||X w - y||^2 + c/2 ||w||^2", "w",
     {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]", "c": "scalar"},
     lambda B, X, y, w, c: 0.5 * B.sqnorm(X @ w - y) + c / 2 * B.sqnorm(w), {"scalars": ("c",)},
     lambda B, X, y, w, c: X.T @ X + c * B.eye(3)),
]
HESSIAN_IDS = [h[0] for h in HESSIANS]
#: the book's form of each Hessian (Bishop (4.97) for logistic regression, (4.110) and
#: Goodfellow 6.2.2.3 for log-sum-exp), measured by benchmarks/textbook_form.py
HESSIAN_BOOKS = {
    "hess_xTAx": "A + A^T", "hess_norm2": "2 I", "hess_sum_exp": "diag(exp(x))",
    "hess_lse": "diag(softmax(x)) - softmax(x) softmax(x)^T", "hess_lsq": "Phi^T Phi",
    "hess_logistic": "X^T diag(y .^ 2 .* sigmoid(y .* (X w)) .* sigmoid(-y .* (X w))) X", "hess_t3": "6 t",
    "hess_abs3": "6 diag(abs(x))", "hess_sigmoid": "diag(sigmoid(x) .* (1 - sigmoid(x)) .* (1 - 2 sigmoid(x)))",
    "hess_logreg": "X^T diag(sigmoid(X w) .* (1 - sigmoid(X w))) X", "hess_ridge": "X^T X + c I",
}


# --------------------------------------------------------------------------- derivatives in turn
# (id, expr, variables, dims, fn, decl): Hessians by a matrix (four axes), mixed second
# derivatives, third and fourth derivatives; each is the derivative of the mixed-layout
# result before it (SYNTAX.md).
HIGHER = [
    ("hess_trXTAX_by_X", "tr(X^T A X)", ("X", "X"), {"X": "matrix[n,m]", "A": "matrix[n,n]"},
     lambda B, X, A: B.tr(X.T @ A @ X), {}),
    ("hess_trAXCX_by_X", "tr(A X C X)", ("X", "X"), {"A": "matrix[m,n]", "X": "matrix[n,m]", "C": "matrix[m,n]"},
     lambda B, A, X, C: B.tr(A @ X @ C @ X), {}),
    ("hess_frobenius_by_X", "||A X - C||_F^2", ("X", "X"),
     {"A": "matrix[k,n]", "X": "matrix[n,m]", "C": "matrix[k,m]"},
     lambda B, A, X, C: B.sqnorm(A @ X - C), {}),
    ("hess_logdet_by_X", "logdet(X)", ("X", "X"), {"X": "matrix[n,n] posdet"},
     lambda B, X: B.logdet(X), {}),
    ("hess_det_by_X", "det(X)", ("X", "X"), {"X": "matrix[n,n]"}, lambda B, X: B.det(X), {}),
    ("hess_trXTX_by_X", "tr(X^T X)", ("X", "X"), {"X": "matrix[n,m]"}, lambda B, X: B.tr(X.T @ X), {}),
    ("mixed_xTAy", "x^T A y", ("x", "y"), {"x": "vector[n]", "A": "matrix[n,m]", "y": "vector[m]"},
     lambda B, x, A, y: x.T @ A @ y, {}),
    ("mixed_xTXy_X_then_x", "x^T X y", ("X", "x"), {"x": "vector[n]", "X": "matrix[n,m]", "y": "vector[m]"},
     lambda B, x, X, y: x.T @ X @ y, {}),
    ("mixed_trXTAX_X_then_A", "tr(X^T A X)", ("X", "A"), {"X": "matrix[n,m]", "A": "matrix[n,n]"},
     lambda B, X, A: B.tr(X.T @ A @ X), {}),
    ("mixed_logistic_w_then_y", "sum(log(1 + exp(-y .* (X w))))", ("w", "y"),
     {"X": "matrix[k,n]", "y": "vector[k]", "w": "vector[n]"},
     lambda B, X, y, w: B.sum(B.log(1 + B.exp(-y * (X @ w)))), {}),
    ("third_sum_exp", "sum(exp(x))", ("x", "x", "x"), {"x": "vector[n]"}, lambda B, x: B.sum(B.exp(x)), {}),
    ("third_quartic", "(x^T x)^2", ("x", "x", "x"), {"x": "vector[n]"}, lambda B, x: (x.T @ x) ** 2, {}),
    ("fourth_quartic", "(x^T x)^2", ("x", "x", "x", "x"), {"x": "vector[n]"}, lambda B, x: (x.T @ x) ** 2, {}),
    ("third_lse", "logsumexp(x)", ("x", "x", "x"), {"x": "vector[n]"}, lambda B, x: B.logsumexp(x), {}),
    ("hess_xTSx_by_S_then_x", "x^T S x", ("S", "x"), {"x": "vector[n]", "S": "symmetric[n]"},
     lambda B, x, S: x.T @ S @ x, SYM_S),
    ("hess_WTx_by_W", "||W x - y||^2", ("W", "W"), {"W": "matrix[k,n]", "x": "vector[n]", "y": "vector[k]"},
     lambda B, W, x, y: B.sqnorm(W @ x - y), {}),
]
HIGHER_IDS = [h[0] for h in HIGHER]


# --------------------------------------------------------------------------- tests
_DIFFS = {}


def _diff(row, layout):
    """matcalc.diff once per (row, layout); the tests below share the result."""
    key = (row.id, layout)
    if key not in _DIFFS:
        _DIFFS[key] = matcalc.diff(row.expr, row.wrt, layout=layout, **row.decl)
    return _DIFFS[key]


def _evaluate(row, layout, vectors_1d=False):
    values = row.values()
    d = _diff(row, layout)
    got = d.evaluate(oracle.to_matcalc(values, row.dims, vectors_1d=vectors_1d))
    return d, values, got


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("row", PARAM_ROWS)
def test_identity(row, layout):
    """matcalc == finite differences == elementwise SymPy, with the layout's shape."""
    d, values, got = _evaluate(row, layout)
    assert d.layout == layout
    fd = oracle.numeric_derivative(row.fn, values, row.wrt, layout, symmetric=row.symmetric_names)
    oracle.assert_close(got, fd, rtol=1e-5, atol=1e-7,
                        what=f"d({row.expr})/d{row.wrt} [{layout}] vs finite differences")
    sy = oracle.sympy_derivative(row.fn, row.dims, row.wrt, layout)(values)
    oracle.assert_close(got, sy, rtol=1e-8, atol=1e-10,
                        what=f"d({row.expr})/d{row.wrt} [{layout}] vs SymPy")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("row", PARAM_ROWS)
def test_symbolic_shape(row, layout):
    """d.shape has one entry per axis of the 2-D (or tensor) result; entries equal to
    1 exactly where the concrete result has 1; equal symbols have equal sizes."""
    d = _diff(row, layout)
    want = oracle.layout_shape(row.f_axes(), row.v_axes(), layout)
    if want == ():
        return  # a scalar result: SYNTAX.md does not say how its shape is spelled
    shape = tuple(d.shape)
    assert len(shape) == len(want), f"d.shape {shape} vs concrete {want}"
    seen = {}
    for sym, size in zip(shape, want):
        if isinstance(sym, (int, np.integer)) or str(sym).isdigit():
            assert int(sym) == size, f"d.shape {shape} vs concrete {want}"
        else:
            assert size != 1, f"d.shape {shape}: symbolic {sym!r} where the result has 1"
            assert seen.setdefault(str(sym), size) == size, (
                f"d.shape {shape} uses {sym!r} for sizes {seen[str(sym)]} and {size}")


@pytest.mark.parametrize("row", EXPECTED_ROWS, ids=[r.id for r in EXPECTED_ROWS])
def test_textbook_form(row):
    """The printed mixed-layout result is the textbook's."""
    d = matcalc.diff(row.expr, row.wrt, **row.decl)
    assert d.layout == "mixed"
    assert str(d) == row.expected


def read_book(text, expr, decl, values, dims, want):
    """The book's text read by matcalc (the row's declarations, inline ones included) and
    evaluated by matcalc's NumPy evaluator at the row's point, shaped as ``want``.  A size
    only the reader can know (the n of a bare I) is the result's; a bare number where a
    vector or matrix is wanted ("0", "1") means that constant array."""
    from matcalc.evaluate_at import bind
    from matcalc.evaluate_numpy import evaluate
    from matcalc.expr import postorder
    inline = [s for s in expr.split(";")[:-1] if re.match(r"\s*(scalar|vector)\s|\s*\w+\s*:", s)]
    e = matcalc.parse(";".join(inline + [text]), **decl)
    symbols = {s.name: s for s in postorder(e) if s.op == "sym"}
    env, sizes = bind(symbols, oracle.to_matcalc({n: values[n] for n in symbols}, dims))
    want_shape = () if isinstance(want, float) else want.shape
    for d, size in zip(e.shape, want_shape):
        sizes.setdefault(d, size)
    got = evaluate(e, env, sizes)
    if isinstance(want, float):
        assert got.shape == (1, 1), f"the book's {text!r} is not a scalar"
        return float(got[0, 0])
    if got.shape == (1, 1) and e.op == "num":
        return got[0, 0] * np.ones(want_shape)
    return got


BOOK_ROWS = [r for r in ROWS if r.book is not None]


@pytest.mark.parametrize("row", BOOK_ROWS, ids=[r.id for r in BOOK_ROWS])
def test_answer_is_about_as_short_as_the_book(row):
    """Issue 9's measure row by row (benchmarks/textbook_form.py gives the distribution): the
    answer takes at most 1.5 times the tokens of the book's form, spelled as the input spelled
    the inverse (which the answer must keep); a row of the issue's own table (book_layouts) at
    most as many, in every layout."""
    limit = 1.0 if row.book_layouts else 1.5
    for layout, text in {"mixed": row.book, **row.book_layouts}.items():
        answer = str(_diff(row, layout))
        book = in_input_spelling(text, row.expr)
        assert tokens(answer) <= limit * tokens(book), f"{row.id} [{layout}]: {answer!r} against {book!r}"


def tokens(text: str) -> int:
    """Lexical tokens of printed text, by the project's lexer (`^T` one, juxtaposition none)."""
    from matcalc.syntax import parser
    return sum(1 for _ in parser().lex(text))


_CALL = re.compile(r"\binv\(")
_POSTFIX = re.compile(r"\^-[1T]|\^\(-[1T]\)|⁻¹|⁻ᵀ")


def in_input_spelling(book: str, expression: str) -> str:
    """The book's form with its inverses spelled as the input spelled them: inv(X) where the
    input typed only inv( (as matcalc's answer must, issue 9 item 3), the book's otherwise."""
    if not _CALL.search(expression) or _POSTFIX.search(expression):
        return book
    out, i = [], 0
    while i < len(book):
        for mark, after in (("^-1", ""), ("^-T", "^T")):
            if book.startswith(mark, i) and out:
                operand = _last_operand(out)
                out.append(f"inv({operand[1:-1] if operand.startswith('(') else operand}){after}")
                i += len(mark)
                break
        else:
            out.append(book[i])
            i += 1
    return "".join(out)


def _last_operand(out: list) -> str:
    """Take off `out` the operand that ends it: a name, or a bracketed whole."""
    text = "".join(out)
    if text.endswith(")"):
        depth, start = 0, len(text)
        for start in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[start], 0)
            if depth == 0:
                break
    else:
        start = len(text)
        while start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            start -= 1
    out[:] = [text[:start]]
    return text[start:]


@pytest.mark.parametrize("row", BOOK_ROWS, ids=[r.id for r in BOOK_ROWS])
def test_book_form_is_the_derivative(row):
    """The book's form (and its form in each layout where one is given), read by matcalc,
    equals the oracle's finite differences at two points: the forms the benchmark measures
    against are proved.  (Finite differences, not SymPy: the quick tier samples this test's
    rows apart from test_identity's, and SymPy's derivative of a row is built once per row;
    test_oracle.py proves the two oracles equal on every row.)"""
    for values in (row.values(), row.values(salt="book")):
        for layout, text in {"mixed": row.book, **row.book_layouts}.items():
            want = oracle.numeric_derivative(row.fn, values, row.wrt, layout, symmetric=row.symmetric_names)
            got = read_book(text, row.expr, row.decl, values, row.dims, want)
            oracle.assert_close(got, want, rtol=1e-5, atol=1e-7,
                                what=f"{row.id}: the book's {text!r} [{layout}] vs finite differences")


@pytest.mark.parametrize("hid,expr,wrt,dims,fn,decl,formula",
                         [h for h in HESSIANS if h[0] in HESSIAN_BOOKS],
                         ids=[h[0] for h in HESSIANS if h[0] in HESSIAN_BOOKS])
def test_book_form_of_hessian(hid, expr, wrt, dims, fn, decl, formula):
    values = oracle.make_values(dims, oracle.seed_for(hid))
    want = oracle.sympy_hessian(fn, dims, wrt)(values)
    got = read_book(HESSIAN_BOOKS[hid], expr, decl, values, dims, want)
    oracle.assert_close(got, want, rtol=1e-8, atol=1e-10, what=f"{hid}: the book's {HESSIAN_BOOKS[hid]!r}")


@pytest.mark.parametrize("row", [p for p in PARAM_ROWS if p.values[0] in VECTOR_INPUT_ROWS])
def test_vectors_as_1d(row):
    """evaluate takes vectors as 1-D arrays too, with the same result."""
    _, values, got = _evaluate(row, "mixed", vectors_1d=True)
    fd = oracle.numeric_derivative(row.fn, values, row.wrt, "mixed", symmetric=row.symmetric_names)
    oracle.assert_close(got, fd, rtol=1e-5, atol=1e-7, what=f"{row.id} with 1-D vectors")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("hid,expr,wrt,dims,fn,decl,formula", HESSIANS, ids=HESSIAN_IDS)
def test_hessian(hid, expr, wrt, dims, fn, decl, formula, layout):
    """order=2 is the n x n matrix of second partials, in every layout."""
    values = oracle.make_values(dims, oracle.seed_for(hid))
    d = matcalc.diff(expr, wrt, layout=layout, order=2, **decl)
    got = d.evaluate(oracle.to_matcalc(values, dims))
    sy = oracle.sympy_hessian(fn, dims, wrt)(values)
    oracle.assert_close(got, sy, rtol=1e-8, atol=1e-10, what=f"Hessian of {expr} [{layout}]")
    fd = oracle.numeric_hessian(fn, values, wrt)
    oracle.assert_close(got, fd, rtol=1e-4, atol=1e-5, what=f"Hessian of {expr} vs FD")


@pytest.mark.parametrize("text", ["x^T A x +", "(x^T A x", "tr(x", "x + [1; 2] + [1; 2; 3]"])
def test_bad_input_raises_matcalc_error(text):
    with pytest.raises(matcalc.MatcalcError):
        matcalc.diff(text, "x")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("hid,expr,variables,dims,fn,decl", HIGHER, ids=HIGHER_IDS)
def test_derivatives_in_turn(hid, expr, variables, dims, fn, decl, layout):
    """Hessians by matrices, mixed and higher derivatives == elementwise SymPy == nested FD."""
    values = oracle.make_values(dims, oracle.seed_for(hid))
    d = matcalc.diff(expr, variables, layout=layout, **decl)
    got = d.evaluate(oracle.to_matcalc(values, dims))
    symmetric = decl.get("symmetric", ())
    sy = oracle.sympy_derivatives(fn, dims, variables, layout)(values)
    oracle.assert_close(got, sy, rtol=1e-8, atol=1e-10, what=f"{expr} by {variables} [{layout}] vs SymPy")
    fd = oracle.numeric_derivatives(fn, values, variables, layout, symmetric=symmetric)
    oracle.assert_close(got, fd, rtol=1e-4, atol=1e-5, what=f"{expr} by {variables} [{layout}] vs FD")


@pytest.mark.parametrize("row", PARAM_ROWS)
def test_check_confirms_every_row(row):
    """d.check() (matcalc's own SymPy and finite-difference comparison) passes on the table:
    it finds a point where f is defined (positive entries for log(X), say) and raises no false alarm."""
    report = _diff(row, "mixed").check()
    assert report.symbolic + report.numeric > 0


@pytest.mark.parametrize("hid,expr,variables,dims,fn,decl", HIGHER, ids=HIGHER_IDS)
def test_check_confirms_derivatives_in_turn(hid, expr, variables, dims, fn, decl):
    report = matcalc.diff(expr, variables, **decl).check()
    assert report.symbolic + report.numeric > 0
