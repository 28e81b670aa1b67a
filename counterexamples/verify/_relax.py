r"""Sound upper bounds of a ReLU network over many input boxes at once (linear relaxation, numpy).

For :math:`g(y) = w_L^\top \mathrm{ReLU}(\dots \mathrm{ReLU}(W_1 y + b_1) \dots) + b_L` and boxes
:math:`[\ell, u] \subseteq [0,1]^d`:

- first layer: exact interval bounds of :math:`z_1 = W_1 y + b_1`;
- second layer: the better of interval arithmetic and a CROWN-style bound with
  :math:`s z \le \mathrm{ReLU}(z) \le s z + t` for an unstable neuron on :math:`[l, u]`, :math:`s = u/(u-l)`,
  :math:`t = -s l` (one slope for both lines, so the bound of every neuron of every box is one matrix product);
  deeper layers: CROWN with the adaptive lower slope (1 if :math:`u > -l`, else 0);
- the final bound: a backward pass from :math:`w_L` (upper line where a coefficient is positive, lower line where
  it is negative), with two choices of lower slope (adaptive, 0), the smaller kept. Its linear form
  :math:`A y + c` also names the box corner that maximises it (a candidate point) and, where every neuron is
  stable, is the exact affine function of the box.

Floating point: every pre-activation bound and the final bound are widened by :math:`10^{-9}(1 + 3M)`, with
:math:`M` an a-priori bound (interval arithmetic with :math:`|W|` over :math:`[0,1]^d`) on the magnitude of every
term summed for that quantity; float64 rounding of such sums is about :math:`(n + d) 2^{-53} M`, four orders of
magnitude smaller. Box corners are midpoints of :math:`[0, 1]`, dyadic, so exact as floats and as fractions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Bounder", "Bounds"]

PAD = 1e-9  # relative widening of every float bound (see the module docstring)


def _relax(l: np.ndarray, u: np.ndarray, lower: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: E741
    """Elementwise :math:`s_\\ell z \\le \\mathrm{ReLU}(z) \\le s_u z + t_u` on :math:`[l, u]`: (s_u, t_u, s_l);
    ``lower``: the lower slope of an unstable neuron, "adaptive" (1 if u > -l else 0), "zero" or "same" (s_u)."""
    unstable = (l < 0) & (u > 0)
    active = (l >= 0).astype(float)
    su = np.where(unstable, u / np.where(unstable, u - l, 1.0), active)
    tu = np.where(unstable, -su * l, 0.0)
    if lower == "adaptive":
        sl = np.where(unstable, (u > -l).astype(float), active)
    elif lower == "zero":
        sl = active
    elif lower == "same":
        sl = su
    else:
        raise ValueError(f"lower slope {lower!r} is not one of 'adaptive', 'zero', 'same'")
    return su, tu, sl


@dataclass
class Bounds:
    """Bounds over a batch of B boxes."""

    ub: np.ndarray  # (B,) sound upper bound of g on each box
    A: np.ndarray  # (B, d) coefficients of the linear upper bound A y + c that gave ub
    pre: list[tuple[np.ndarray, np.ndarray]]  # per hidden layer, (B, n) widened pre-activation bounds
    n_unstable: np.ndarray  # (B,) hidden neurons whose bounds straddle 0
    n_binary: np.ndarray  # (B,) binaries of the one-sided big-M MILP (last layer: only positive output weights)
    split: np.ndarray | None  # (B,) suggested split coordinate (two hidden layers), else None


class Bounder:
    """Sound upper bounds of a network given by float weights ``Ws``, ``bs`` (one output) over boxes."""

    def __init__(self, Ws: list[np.ndarray], bs: list[np.ndarray]) -> None:
        self.Ws, self.bs = Ws, bs
        self.Wp = [np.maximum(W, 0) for W in Ws]
        self.Wn = [np.minimum(W, 0) for W in Ws]
        self.Wabs = [np.abs(W) for W in Ws]
        m = np.ones(Ws[0].shape[1])
        mags = []
        for W, b in zip(Ws, bs, strict=True):
            m = np.abs(W) @ m + np.abs(b)
            mags.append(m)
        self.pad = [PAD * (1 + 3 * m) for m in mags]  # 3x: the relaxations' intercepts are of similar size
        self.final_pad = PAD * (1 + 3 * (np.abs(Ws[-1][0]) @ mags[-2] + abs(bs[-1][0]))) if len(Ws) > 1 else PAD
        if len(Ws) > 2:  # second layer's CROWN coefficients: T[k] = outer(W2[:, k], W1[k]), flattened
            n1, d = Ws[0].shape
            self._T = np.einsum("jk,kd->kjd", Ws[1], Ws[0]).reshape(n1, Ws[1].shape[0] * d)

    def bound(self, lo: np.ndarray, hi: np.ndarray) -> Bounds:
        """Sound bounds over the boxes ``[lo, hi]`` (arrays (B, d))."""
        Ws, bs = self.Ws, self.bs
        L = len(Ws) - 1
        c, r = (lo + hi) / 2, (hi - lo) / 2
        B = lo.shape[0]
        zc = c @ Ws[0].T + bs[0]
        zr = r @ self.Wabs[0].T
        pre = [(zc - zr - self.pad[0], zc + zr + self.pad[0])] if L else []
        relax = [_relax(*pre[0], "adaptive")] if L else []
        rad3 = None
        for k in range(1, L):
            l, u = pre[-1]  # noqa: E741
            al, au = np.maximum(l, 0), np.maximum(u, 0)
            il = al @ self.Wp[k].T + au @ self.Wn[k].T + bs[k]
            iu = au @ self.Wp[k].T + al @ self.Wn[k].T + bs[k]
            if k == 1:
                cu, cl, rad3 = self._second_layer(l, u, c, r)
            else:
                n = len(bs[k])
                lam = np.broadcast_to(Ws[k], (B, n, Ws[k].shape[1]))
                AU, cU = self._backward_matrix(lam, np.broadcast_to(bs[k], (B, n)), k, relax)
                AL, cL = self._backward_matrix(-lam, -np.broadcast_to(bs[k], (B, n)), k, relax)
                cu = np.einsum("bnd,bd->bn", AU, c) + np.einsum("bnd,bd->bn", np.abs(AU), r) + cU
                cl = -(np.einsum("bnd,bd->bn", AL, c) + np.einsum("bnd,bd->bn", np.abs(AL), r) + cL)
            pre.append((np.maximum(il, cl) - self.pad[k], np.minimum(iu, cu) + self.pad[k]))
            relax.append(_relax(*pre[-1], "adaptive"))
        w = Ws[L][0]
        best_ub: np.ndarray | None = None
        best_A = np.zeros_like(lo)
        split = None
        for mode in ("adaptive", "zero"):  # lower slopes of unstable neurons; the first also gives the split
            rel = relax
            if mode == "zero":  # the same upper lines; lower slope 0 for unstable neurons
                rel = [(su, tu, (l_ >= 0).astype(float)) for (l_, _), (su, tu, _) in zip(pre, relax, strict=True)]
            record: list[np.ndarray] | None = [] if mode == "adaptive" else None
            A, const = self._backward(np.broadcast_to(w, (B, len(w))), np.full(B, bs[L][0]), L, rel, record)
            if record is not None and L == 2 and rad3 is not None:
                split = self._split_score(record[::-1], pre, rel, r, rad3)
            ub = np.einsum("bd,bd->b", A, c) + np.einsum("bd,bd->b", np.abs(A), r) + const
            if best_ub is None:
                best_ub, best_A = ub, A
            else:
                better = ub < best_ub
                best_ub, best_A = np.where(better, ub, best_ub), np.where(better[:, None], A, best_A)
        assert best_ub is not None
        unstable = [(l_ < 0) & (u_ > 0) for l_, u_ in pre]
        n_unstable = sum((x.sum(axis=1) for x in unstable), np.zeros(B, int))
        n_binary = sum((x.sum(axis=1) for x in unstable[:-1]), np.zeros(B, int))
        if unstable:
            n_binary = n_binary + (unstable[-1] & (w > 0)).sum(axis=1)
        return Bounds(best_ub + self.final_pad, best_A, pre, n_unstable, n_binary, split)

    def _backward(
        self, lam: np.ndarray, const: np.ndarray, k: int, relax: list, record: list | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """An upper bound ``lam . a_k + const`` (a_k the k-th hidden layer's activations, (B, n_k)) pushed back to
        the input: (A, const) with ``A . y + const`` valid on the box; ``record`` collects the coefficients on
        every a_j, deepest first."""
        for j in range(k - 1, -1, -1):
            if record is not None:
                record.append(lam)
            su, tu, sl = relax[j]
            lp, ln = np.maximum(lam, 0), np.minimum(lam, 0)
            const = const + np.einsum("bn,bn->b", lp, tu)
            lam = lp * su + ln * sl
            const = const + lam @ self.bs[j]
            lam = lam @ self.Ws[j]
        return lam, const

    def _backward_matrix(self, lam: np.ndarray, const: np.ndarray, k: int, relax: list) -> tuple[np.ndarray, ...]:
        """:meth:`_backward` for m objectives per box: lam (B, m, n_{k-1}), const (B, m)."""
        for j in range(k - 1, -1, -1):
            su, tu, sl = relax[j]
            lp, ln = np.maximum(lam, 0), np.minimum(lam, 0)
            const = const + np.einsum("bmn,bn->bm", lp, tu)
            lam = lp * su[:, None, :] + ln * sl[:, None, :]
            const = const + lam @ self.bs[j]
            lam = lam @ self.Ws[j]
        return lam, const

    def _second_layer(self, l: np.ndarray, u: np.ndarray, c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:  # noqa: E741
        """CROWN bounds (upper, lower) of z2 = W2 ReLU(z1) + b2 with one slope s per first-layer neuron for both
        lines: the coefficients on y, W2 diag(s) W1, are one product s @ T for every box; the intercepts t enter
        through W2+ (upper) or W2- (lower). Also returns the per-input radii (B, n2, d) for the split score."""
        su, tu, _ = _relax(l, u, "same")
        B, d = c.shape
        n2 = self.Ws[1].shape[0]
        base = (su * (c @ self.Ws[0].T + self.bs[0])) @ self.Ws[1].T + self.bs[1]
        rad3 = np.abs(su @ self._T).reshape(B, n2, d) * r[:, None, :]
        rad = rad3.sum(axis=2)
        return base + tu @ self.Wp[1].T + rad, base + tu @ self.Wn[1].T - rad, rad3

    def _split_score(
        self, lams: list[np.ndarray], pre: list, relax: list, r: np.ndarray, rad3: np.ndarray
    ) -> np.ndarray:
        """Split coordinate per box (two hidden layers): the final bound exceeds the true max by at most
        sum_j |lam_j| gap_j over unstable neurons (lam_j the neuron's coefficient in the backward pass, gap_j its
        relaxation's largest gap); each input is credited with its share of every neuron's pre-activation range
        (|W1[j, k]| r_k in the first layer, the CROWN radii in the second)."""
        score = np.zeros_like(r)
        rad = rad3.sum(axis=2)
        for j, (lam, (l, u), (_, _, sl)) in enumerate(zip(lams, pre, relax, strict=True)):  # noqa: E741
            unstable = (l < 0) & (u > 0)
            den = np.where(unstable, u - l, 1.0)
            gap_up = np.where(unstable, -l * u / den, 0.0)
            gap_lo = np.where(unstable, np.maximum(-sl * l, (1 - sl) * u), 0.0)
            weight = np.where(lam > 0, lam * gap_up, -lam * gap_lo)
            if j == 0:
                S = r @ self.Wabs[0].T
                weight = np.divide(weight, S, out=np.zeros_like(weight), where=S > 0)
                score += (weight @ self.Wabs[0]) * r
            else:
                weight = np.divide(weight, rad, out=np.zeros_like(weight), where=rad > 0)
                score += np.matmul(weight[:, None, :], rad3)[:, 0, :]
        return np.argmax(score, axis=1)
