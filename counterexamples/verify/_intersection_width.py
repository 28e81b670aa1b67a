"""Width bounds for the two Lipschitz intersections, re-proved with z3 in lemmas (each query small enough for z3's
nonlinear arithmetic; the direct queries time out). Two members f >= g with one visualization (f_min, f_max at
x_min, x_max) are compared at x; t1 = f(x), t2 = g(x), s = sup / L.

monotone and L-Lipschitz (coordinatewise nondecreasing), any d, p in {1, 2, inf}:
- M1 (linear): with the necessary conditions f_min <= t <= f_max, t - f_min <= L r_up, f_max - t <= L r_down
  (r_up = ||(x - x_min)_+||, r_down = ||(x_max - x)_+||: f(x) - f(x_min) <= f(x) - f(x ^ x_min) <= L ||x - x ^ x_min||
  by monotonicity and the Lipschitz condition, likewise above), t1 - t2 > sup forces r_up > s and r_down > s.
- M2 (per coordinate): 0 <= (x_k - a_k)_+ <= x_k and 0 <= (b_k - x_k)_+ <= 1 - x_k on [0,1], so (p-norms grow
  with each |component|) r_up <= ||x|| and r_down <= ||1 - x||.
- M3: min(||x||, ||1 - x||) <= s. d = 1: min(x, 1 - x) <= 1/2. 1-norm: the two sum to d. inf-norm: both <= 1.
  2-norm: per coordinate x^2 = x - q and (1 - x)^2 = 1 - x - q with q = x(1 - x) >= m/2, m = min(x, 1 - x) =
  |x - r|, r in {0, 1} (z3, one variable); summed, S = sum x, Q = sum q, P = sum m and the integer n = sum r satisfy
  Q >= P/2 and |S - n| <= P, and S - Q > s^2, d - S - Q > s^2 is unsat (z3, linear with one integer).

convex and L-Lipschitz, d = 2, 2-norm, sup >= L (subgradients of norm <= L exist at every point: the inf-convolution
extension; a at x for f, h at x_max for g):
- C1 (linear): t1 <= f_min + P (P = a.(x - x_min)), t1 <= f_max, t2 >= f_min, t2 >= f_max - H_x and
  f_max - f_min <= H_m (H_y = h.(x_max - y)): t1 - t2 > sup forces P, H_x, H_m > sup >= L.
- C2 (Cauchy-Schwarz): (a.v)^2 <= ||a||^2 ||v||^2, so P > L forces ||x - x_min|| > 1.
- C3 (reflection, per coordinate): h_k (b_k - y_k) <= |h_k| w_k with w_k = 1 - y_k if h_k >= 0 else y_k, and
  |w_k(y) - w_k(z)| = |y_k - z_k|: with g = |h| / L (g >= 0, ||g|| <= 1), u = w(x), v = w(x_min): g.u > 1, g.v > 1
  and ||u - v|| = ||x - x_min|| > 1.
- C4 (the core, in four order cases): no g >= 0 with ||g|| <= 1 and u, v in [0,1]^2 have g.u >= 1, g.v >= 1 and
  ||u - v|| > 1. Comparable u, v: direct. Otherwise (u_0 <= v_0, u_1 >= v_1 and its mirror) the distance is at most
  that of a = 1 - u_0, b = 1 - v_1, which satisfy g_0 a <= g_0 + g_1 - 1 and g_1 b <= g_0 + g_1 - 1.
convex and L-Lipschitz, d = 2, 1-norm (subgradients with |a_k|, |h_k| <= L), sup >= 9/8 L:
- D1 (linear): as C1, and t1 <= f_max - S with S = max over the vertices v of a.(v - x) (f(v) >= f(x) + a.(v - x)
  and f(v) <= f_max), so t1 - t2 > sup forces P, H_m - S and H_x - S all above sup.
- D2 (per coordinate): the vertex maximum separates, S = sum_k max(a_k (1 - x_k), -a_k x_k), and
  h_k (b_k - y_k) <= L w_k(y) with w_k as in C3, for |h_k| <= L.
- D3 (the core, one query per sign pattern of a and of h, 16 in all, in units of L): no a in [-1, 1]^2 and x,
  x_min in the square have a.(x - x_min), w(x_min)_1 + w(x_min)_2 - S and w(x)_1 + w(x)_2 - S all above s.
convex and L-Lipschitz, 1-norm, any d, sup >= W L, W = 2k, 2k + 1/2, 2k + 9/8 for d = 3k, 3k + 1, 3k + 2:
- D1 and D2 as above (they do not depend on d). In units of L, per coordinate k: alpha = a_k (x_k - m_k),
  beta = w_k(m) - s_k, gamma = w_k(x) - s_k (s_k the k-th term of S), so P <= sum alpha, H_m - S <= sum beta and
  H_x - S <= sum gamma.
- E3 (per coordinate, one query per sign of h_k): alpha, beta, gamma <= 1, and with A = alpha + beta and
  g = max(gamma, 0) every coordinate has a type: A <= 1 (S), A + 6g <= 2 (V1) or 3A + 2g <= 4 (V2).
- E4 (linear, three integers): summed, with n_S, n_1, n_2 coordinates of each type (d in all) and A_j, G_j the sums
  of A and g over type j: sum alpha + sum beta <= n_S + A_1 + A_2, sum gamma <= n_S + G_1 + G_2,
  A_1 + 6 G_1 <= 2 n_1, A_1 <= 2 n_1, 3 A_2 + 2 G_2 <= 4 n_2, 0 <= G_j <= n_j; the three sums above W is unsat.
This module imports nothing from the engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import z3


def _q(v: Fraction) -> Any:
    return z3.RealVal(f"{v.numerator}/{v.denominator}")


def _abs(e: Any) -> Any:
    return z3.If(e >= 0, e, -e)


def _unsat(constraints: list[Any], timeout_ms: int) -> Any:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(*constraints)
    return s.check()


def _run(lemmas: list[tuple[str, list[Any]]], timeout_ms: int, what: str) -> tuple[bool, str]:
    """Every lemma's negation must be unsat."""
    results = [(name, _unsat(cons, timeout_ms)) for name, cons in lemmas]
    failed = [f"{name}: {res}" for name, res in results if res != z3.unsat]
    detail = "; ".join(f"{name} {res}" for name, res in results)
    return not failed, f"z3 lemmas for {what}: {detail}" + (f" (not proved: {', '.join(failed)})" if failed else "")


def _unit(*vs: Any) -> list[Any]:
    return [c for v in vs for c in (v >= 0, v <= 1)]


# ---- monotone and L-Lipschitz ----------------------------------------------------------------------------------
def _monotone_m3(d: int, p: str, s: Fraction) -> list[tuple[str, list[Any]]]:
    x = z3.Real("x")
    if d == 1:
        return [("M3 (d = 1)", [*_unit(x), x > _q(s), 1 - x > _q(s)])]
    if p == "1":
        tot = z3.Real("S")  # sum x_k in [0, d]; ||x||_1 = S, ||1 - x||_1 = d - S
        return [("M3 (1-norm)", [tot >= 0, tot <= d, tot > _q(s), d - tot > _q(s)])]
    if p == "inf":
        return [("M3 (inf-norm)", [*_unit(x), x > _q(s)])]  # every coordinate, hence both norms, <= 1
    q, m, r = z3.Reals("q m r")
    per = [
        *_unit(x),
        q == x * (1 - x),
        m == z3.If(x <= 1 - x, x, 1 - x),
        r == z3.If(x > z3.RealVal("1/2"), 1, 0),
    ]
    tot, qs, ms = z3.Reals("S Q P")
    n = z3.Int("n")
    agg = [n >= 0, n <= d, qs >= 0, ms >= 0, 2 * qs >= ms, tot - z3.ToReal(n) <= ms, z3.ToReal(n) - tot <= ms]
    agg += [tot - qs > _q(s * s), d - tot - qs > _q(s * s)]
    return [
        ("M3a x^2 = x - q, q >= m/2", [*per, z3.Or(x * x != x - q, (1 - x) * (1 - x) != 1 - x - q, 2 * q < m)]),
        ("M3b |x - r| = m", [*per, _abs(x - r) != m]),
        ("M3c sums", agg),
    ]


def prove_monotone_width(d: int, p: str, L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Two nondecreasing L-Lipschitz members with one visualization differ at x by at most ``sup``."""
    if sup < 0 or L <= 0:
        return False, f"sup_width = {sup} and L = {L}: a width bound needs sup_width >= 0 and L > 0"
    s = sup / L
    fmin, fmax, t1, t2, r_up, r_down = z3.Reals("fmin fmax t1 t2 r_up r_down")
    m1 = [fmax >= fmin, r_up >= 0, r_down >= 0, t1 - t2 > _q(sup)]
    for t in (t1, t2):
        m1 += [t >= fmin, t <= fmax, t - fmin <= _q(L) * r_up, fmax - t <= _q(L) * r_down]
    m1.append(z3.Or(r_up <= _q(s), r_down <= _q(s)))
    a, b, x = z3.Reals("a b x")
    pos_up, pos_down = z3.If(x - a >= 0, x - a, 0), z3.If(b - x >= 0, b - x, 0)
    m2 = [*_unit(a, b, x), z3.Or(pos_up > x, pos_down > 1 - x)]
    ok, detail = _run(
        [("M1 reduction", m1), ("M2 positive parts", m2), *_monotone_m3(d, p, s)],
        timeout_ms,
        f"monotone and {L}-Lipschitz, {p}-norm, d = {d}: width <= L min(||x||, ||1 - x||) <= {sup}",
    )
    return ok, detail


# ---- convex and L-Lipschitz, d = 2, 2-norm -----------------------------------------------------------------------
def _core(order: Callable[[Any, Any], list[Any]]) -> list[Any]:
    g0, g1, u0, u1, v0, v1 = z3.Reals("g0 g1 u0 u1 v0 v1")
    return [
        *_unit(u0, u1, v0, v1),
        g0 >= 0,
        g1 >= 0,
        g0 * g0 + g1 * g1 <= 1,
        g0 * u0 + g1 * u1 >= 1,
        g0 * v0 + g1 * v1 >= 1,
        (u0 - v0) ** 2 + (u1 - v1) ** 2 > 1,
        *order((u0, u1), (v0, v1)),
    ]


def prove_convex_width_2d(L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Two convex L-Lipschitz (2-norm) members on [0,1]^2 with one visualization differ at x by at most L <= sup."""
    if sup < L:
        return False, f"the convex bound is L = {L}; sup_width = {sup} is below it"
    fmin, fmax, t1, t2, pa, hx, hm = z3.Reals("fmin fmax t1 t2 P Hx Hm")
    c1 = [t1 <= fmin + pa, t1 <= fmax, t2 >= fmin, t2 >= fmax - hx, fmax - fmin <= hm, t1 - t2 > _q(sup)]
    c1.append(z3.Or(pa <= _q(sup), hx <= _q(sup), hm <= _q(sup)))
    a0, a1, v0, v1 = z3.Reals("a0 a1 v0 v1")
    c2 = [(a0 * v0 + a1 * v1) ** 2 > (a0 * a0 + a1 * a1) * (v0 * v0 + v1 * v1)]
    hk, bk, yk, zk = z3.Reals("hk bk yk zk")

    def w(y: Any) -> Any:
        return z3.If(hk >= 0, 1 - y, y)

    c3 = [*_unit(bk, yk, zk), z3.Or(hk * (bk - yk) > _abs(hk) * w(yk), _abs(w(yk) - w(zk)) != _abs(yk - zk))]
    g0, g1, u0, u1, v0_, v1_ = z3.Reals("g0 g1 u0 u1 v0 v1")
    ii_red = [
        *_unit(u0, u1, v0_, v1_),
        u0 <= v0_,
        u1 >= v1_,
        (u0 - v0_) ** 2 + (u1 - v1_) ** 2 > (1 - u0) ** 2 + (1 - v1_) ** 2,
    ]
    ii_link = [
        *_unit(u0, u1, v0_, v1_),
        g0 >= 0,
        g1 >= 0,
        g0 * u0 + g1 * u1 >= 1,
        g0 * v0_ + g1 * v1_ >= 1,
        z3.Or(g0 * (1 - u0) > g0 + g1 - 1, g1 * (1 - v1_) > g0 + g1 - 1),
    ]
    ka, kb = z3.Reals("ka kb")
    ii_core = [*_unit(ka, kb), g0 >= 0, g1 >= 0, g0 * g0 + g1 * g1 <= 1]
    ii_core += [g0 * ka <= g0 + g1 - 1, g1 * kb <= g0 + g1 - 1, ka * ka + kb * kb > 1]
    return _run(
        [
            ("C1 reduction", c1),
            ("C2 Cauchy-Schwarz", c2),
            ("C3 reflection", c3),
            ("C4 u <= v", _core(lambda u, v: [u[0] <= v[0], u[1] <= v[1]])),
            ("C4 v <= u", _core(lambda u, v: [v[0] <= u[0], v[1] <= u[1]])),
            ("C4 crossing: distance", ii_red),
            ("C4 crossing: a, b", ii_link),
            ("C4 crossing: core", ii_core),
        ],
        timeout_ms,
        f"convex and {L}-Lipschitz, 2-norm, d = 2: width <= L <= {sup}",
    )


def _reduction_one_norm(L: Fraction, sup: Fraction) -> list[tuple[str, list[Any]]]:
    """D1 and D2: the lemmas that reduce two members' difference to the per-coordinate terms (module docstring)."""
    fmin, fmax, t1, t2, pa, hx, hm, sx = z3.Reals("fmin fmax t1 t2 P Hx Hm S")
    d1 = [t1 <= fmin + pa, t1 <= fmax - sx, t2 >= fmin, t2 >= fmax - hx, fmax - fmin <= hm, t1 - t2 > _q(sup)]
    d1.append(z3.Or(pa <= _q(sup), hm - sx <= _q(sup), hx - sx <= _q(sup)))
    ak, xk, hk, bk, yk = z3.Reals("ak xk hk bk yk")
    d2 = [
        *_unit(xk, bk, yk),
        hk >= -_q(L),
        hk <= _q(L),
        z3.Or(
            z3.If(ak * (1 - xk) >= -ak * xk, ak * (1 - xk), -ak * xk) != z3.If(ak >= 0, ak * (1 - xk), -ak * xk),
            hk * (bk - yk) > _q(L) * z3.If(hk >= 0, 1 - yk, yk),
        ),
    ]
    return [("D1 reduction", d1), ("D2 per coordinate", d2)]


def prove_convex_width_2d_one_norm(L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Two convex L-Lipschitz (1-norm) members on [0,1]^2 with one visualization differ at x by at most 9/8 L."""
    if sup < Fraction(9, 8) * L:
        return False, f"the convex bound in the 1-norm is 9/8 L = {Fraction(9, 8) * L}; sup_width = {sup} is below it"
    s = sup / L
    lemmas = _reduction_one_norm(L, sup)
    a, x, m = z3.Reals("a0 a1"), z3.Reals("x0 x1"), z3.Reals("m0 m1")
    for sa, sh in itertools.product(itertools.product((1, -1), repeat=2), repeat=2):
        cons = [*_unit(*x, *m)]
        cons += [c for k in range(2) for c in (a[k] >= -1, a[k] <= 1, a[k] >= 0 if sa[k] > 0 else a[k] <= 0)]
        slack = z3.Sum([a[k] * (1 - x[k]) if sa[k] > 0 else -a[k] * x[k] for k in range(2)])

        def w(y: list[Any], sh: tuple[int, ...] = sh) -> Any:
            return z3.Sum([1 - y[k] if sh[k] > 0 else y[k] for k in range(2)])

        cons += [a[0] * (x[0] - m[0]) + a[1] * (x[1] - m[1]) > _q(s), w(m) - slack > _q(s), w(x) - slack > _q(s)]
        lemmas.append((f"D3 signs a {sa}, h {sh}", cons))
    return _run(lemmas, timeout_ms, f"convex and {L}-Lipschitz, 1-norm, d = 2: width <= 9/8 L <= {sup}")


def one_norm_convex_width(d: int) -> Fraction:
    """W / L for convex and L-Lipschitz f in the 1-norm: 2k, 2k + 1/2, 2k + 9/8 for d = 3k, 3k + 1, 3k + 2 (E4's
    optimum; the engine's block instances attain it)."""
    k, r = divmod(d, 3)
    return 2 * k + (Fraction(0), Fraction(1, 2), Fraction(9, 8))[r]


def one_norm_summed(d: int, s: Fraction) -> list[Any]:
    """E4: the per-coordinate types summed (module docstring); unsat iff s >= one_norm_convex_width(d)."""
    n_s, n_1, n_2 = z3.Ints("n_S n_1 n_2")
    a_1, a_2, g_1, g_2, s1, s2, s3 = z3.Reals("A_1 A_2 G_1 G_2 S1 S2 S3")
    return [
        n_s >= 0,
        n_1 >= 0,
        n_2 >= 0,
        n_s + n_1 + n_2 == d,
        s1 + s2 <= n_s + a_1 + a_2,
        s3 <= n_s + g_1 + g_2,
        a_1 + 6 * g_1 <= 2 * n_1,
        a_1 <= 2 * n_1,
        3 * a_2 + 2 * g_2 <= 4 * n_2,
        g_1 >= 0,
        g_1 <= n_1,
        g_2 >= 0,
        g_2 <= n_2,
        s1 > _q(s),
        s2 > _q(s),
        s3 > _q(s),
    ]


def prove_convex_width_one_norm(d: int, L: Fraction, sup: Fraction, timeout_ms: int) -> tuple[bool, str]:
    """Two convex L-Lipschitz (1-norm) members on [0,1]^d with one visualization differ at x by at most W L."""
    w = one_norm_convex_width(d)
    if sup < w * L:
        return False, f"the convex bound in the 1-norm, d = {d}, is {w} L = {w * L}; sup_width = {sup} is below it"
    lemmas = _reduction_one_norm(L, sup)
    a, x, m = z3.Reals("a x m")
    s_k = z3.If(a * (1 - x) >= -a * x, a * (1 - x), -a * x)
    for sign in (1, -1):
        w_m, w_x = (1 - m, 1 - x) if sign > 0 else (m, x)
        alpha, beta, gamma = a * (x - m), w_m - s_k, w_x - s_k
        big_a, g = alpha + beta, z3.If(gamma >= 0, gamma, 0)
        typed = z3.Or(big_a <= 1, big_a + 6 * g <= 2, 3 * big_a + 2 * g <= 4)
        cons = [*_unit(x, m), a >= -1, a <= 1, z3.Or(alpha > 1, beta > 1, gamma > 1, z3.Not(typed))]
        lemmas.append((f"E3 per coordinate, h_k {'>=' if sign > 0 else '<'} 0", cons))
    lemmas.append(("E4 summed", one_norm_summed(d, sup / L)))
    return _run(lemmas, timeout_ms, f"convex and {L}-Lipschitz, 1-norm, d = {d}: width <= {w} L <= {sup}")
