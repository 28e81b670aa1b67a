"""Check a tree of boxes that bounds the widest range W of convex and L-Lipschitz functions (2-norm) from above,
in exact integer arithmetic (nothing from ``theory``).

In units of L, with x_max reflected to (1, ..., 1) (h >= 0; distances and s_a unchanged), two members with one
visualization differ at x by at most min(P, Q, R): P = a.(x - m), Q = h.(1 - m) - s_a(x), R = h.(1 - x) - s_a(x),
s_a(x) = sum_k max(a_k (1 - x_k), -a_k x_k), for some |a|, |h| <= 1, h >= 0, m = x_min (docs/theory.md, "Absolute
eps"). For theta in the simplex, min(P, Q, R) <= theta.(P, Q, R) <= G_theta(x, m) = |p| + |theta_2 (1 - m) +
theta_3 (1 - x)| with p_k = max(theta_1 (x_k - m_k) - (theta_2 + theta_3)(1 - x_k), -theta_1 (x_k - m_k) -
(theta_2 + theta_3) x_k, 0) (the largest value over a and h). G_theta is convex in (x, m), so on a box it is largest
at a vertex. The tree (preorder: an int k splits the current box of [0,1]^(2d) at the midpoint of coordinate k,
lower half first; a pair [i, j] is a leaf with theta = (i, j, n - i - j)/n) covers [0,1]^(2d) by construction, and
every vertex of every leaf must have G_theta <= s: then W <= s L. With Z = n 2^D every quantity times Z is an
integer, and sqrt(A) + sqrt(B) <= sqrt(C) iff C - A - B >= 0 and 4 A B <= (C - A - B)^2.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

from counterexamples.verify._exact import frac

MAX_TOKENS = 20_000  # the stored trees have at most 1,799; this bounds the work (at most 10^4 leaves x 4^5)
MAX_DEPTH = 64


def _at_most(A: int, B: int, C: int) -> bool:
    R = C - A - B
    return R >= 0 and 4 * A * B <= R * R


def _leaf_ok(d: int, n: int, i: int, j: int, lo: list[Fraction], hi: list[Fraction], s: Fraction) -> bool:
    D = max(v.denominator for v in (*lo, *hi))
    a, b = s.numerator, s.denominator
    C = (a * n * D) ** 2
    parts = []
    for k in range(d):
        xs = (int(lo[k] * D), int(hi[k] * D))
        ms = (int(lo[d + k] * D), int(hi[d + k] * D))
        options = []
        for xk, mk in itertools.product(xs, ms):
            p = max(i * (xk - mk) - (n - i) * (D - xk), -i * (xk - mk) - (n - i) * xk, 0)
            w = j * (D - mk) + (n - i - j) * (D - xk)
            options.append((b * b * p * p, b * b * w * w))
        parts.append(options)
    if _at_most(sum(max(o[0] for o in pk) for pk in parts), sum(max(o[1] for o in pk) for pk in parts), C):
        return True
    return all(_at_most(sum(o[0] for o in c), sum(o[1] for o in c), C) for c in itertools.product(*parts))


def check_boxes(d: int, boxes: Any) -> tuple[Fraction | None, str]:
    """The bound s (W <= s L) that ``boxes`` proves, or None and why not."""
    try:
        s = frac(boxes["sup_over_L"])
        n = boxes["theta_denominator"]
        tree = boxes["tree"]
    except (KeyError, TypeError, ValueError) as err:
        return None, f"boxes do not parse: {err.__class__.__name__}: {err}"
    if type(n) is not int or not 1 <= n <= 10**4:
        return None, f"theta_denominator = {n!r}: must be an integer in 1..10000"
    if not isinstance(tree, list) or len(tree) > MAX_TOKENS or not 1 <= d <= 5 or s < 0:
        return None, f"tree must be a list of at most {MAX_TOKENS} tokens, d in 1..5 and s >= 0 (d = {d}, s = {s})"
    stack = [([Fraction(0)] * (2 * d), [Fraction(1)] * (2 * d), 0)]
    pos = leaves = 0
    while stack:
        if pos >= len(tree):
            return None, "the tree ends before every box is a leaf"
        lo, hi, depth = stack.pop()
        tok = tree[pos]
        pos += 1
        if type(tok) is int:
            if not 0 <= tok < 2 * d or depth >= MAX_DEPTH:
                return None, f"token {pos - 1}: split {tok} (coordinates 0..{2 * d - 1}, depth at most {MAX_DEPTH})"
            mid = (lo[tok] + hi[tok]) / 2
            up_lo, down_hi = list(lo), list(hi)
            up_lo[tok], down_hi[tok] = mid, mid
            stack += [(up_lo, hi, depth + 1), (lo, down_hi, depth + 1)]
            continue
        if not (isinstance(tok, list) and len(tok) == 2 and all(type(t) is int for t in tok)):
            return None, f"token {pos - 1}: {tok!r} is neither a split nor a leaf [i, j]"
        i, j = tok
        if not (i >= 0 and j >= 0 and i + j <= n):
            return None, f"token {pos - 1}: theta = ({i}, {j}, {n - i - j})/{n} is not in the simplex"
        if not _leaf_ok(d, n, i, j, lo, hi, s):
            return None, f"leaf {leaves} (token {pos - 1}): a vertex of [{lo}, {hi}] has G_theta > {s}"
        leaves += 1
    if pos != len(tree):
        return None, f"{len(tree) - pos} tokens left after the tree is complete"
    return s, f"{leaves} boxes cover [0,1]^{2 * d}; at every vertex G_theta <= {s} (exact)"


def prove_convex_width_boxes(d: int, L: Fraction, sup: Fraction, boxes: Any) -> tuple[bool, str]:
    """Every range of convex and L-Lipschitz functions (2-norm, dimension d) is at most ``sup`` wide, by the tree."""
    s, detail = check_boxes(d, boxes)
    if s is None:
        return False, detail
    return sup >= s * L, f"{detail}, so W <= {s} L = {s * L} <= sup_width = {sup}"
