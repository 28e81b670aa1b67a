"""``check_class``: what a feature visualization reveals about a function class, question by question.

Quantifiers (docs/theory.md). A question is reliably answerable for a class iff it can be answered for every
visualization the class can produce and every x in [0,1]^d:
  exact      lo(x) = hi(x);
  approx     hi(x) - lo(x) <= 2 eps Delta (eps relative to Delta; by default for every eps in (0, 1/2),
             so "no" means the range is all of [f_min, f_max] somewhere: nothing beats predicting the midpoint);
  min_or_max every member agrees on f(x) < c, f(x) > c or f(x) = c, with c = (f_max + f_min)/2.
Verdicts are computed, never guessed: "no" carries a counterexample (two members that disagree); "yes" a proof
object (a decoder checked independently, or a proved bound on the width of every range); "depends" the exact
condition under which an instance is answered (closed forms where they exist) with an instance on each side;
"open" says that neither a proof nor a counterexample is known. At a fixed eps the answer is derived from the exact
answered set (docs/theory.md, "Fixed eps"); for classes with a Lipschitz-type L it depends on L/Delta in every d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, Protocol, cast

import numpy as np
from numpy.typing import ArrayLike

from theory import _certificates as certs
from theory._convex_boxes import certificate_part as convex_boxes_part
from theory._numbers import fraction_str, simplest_between, to_fraction
from theory._range import ValueRange
from theory._setting import MAX_MAGNITUDE, FeatureVisualization, FloatArray, Observations, as_point
from theory._triangle import smallest_side_below
from theory._widest import Widest, exact_root, root_above, root_below
from theory._widest import for_class as widest_for_class
from theory.classes import FunctionClass, InconsistentVisualization, Lipschitz, get_class
from theory.classes.smooth import Smooth

Verdict = Literal["yes", "no", "depends", "open"]
QUESTIONS = ("exact", "approx", "min_or_max")


class _WithL(Protocol):
    """A class with a Lipschitz-type parameter L that the threshold analysis can vary."""

    L: float

    def with_L(self, L: float) -> FunctionClass: ...

    def smallest_L(self, fv: FeatureVisualization) -> float: ...


def _has_L(fc: FunctionClass) -> bool:
    """Does the class have a Lipschitz-type parameter L (``with_L`` and ``smallest_L``)? A plain attribute test:
    ``isinstance`` against a runtime-checkable Protocol costs ~20 us per call, and the search makes hundreds."""
    return hasattr(fc, "with_L") and hasattr(fc, "smallest_L")


class EngineError(RuntimeError):
    """The engine could not certify a verdict (no counterexample found and no proof available)."""


@dataclass(frozen=True)
class Answer:
    """The answer to one question: a verdict, a human-readable reason and its certificate."""

    question: str
    verdict: Verdict
    reason: str
    certificate: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "verdict": self.verdict,
            "reason": self.reason,
            "certificate": self.certificate,
        }


@dataclass(frozen=True)
class ClassReport:
    """``check_class``'s result: ``answers`` maps "exact", "approx", "min_or_max" to an :class:`Answer`."""

    cls: FunctionClass
    answers: dict[str, Answer]
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, question: str) -> Answer:
        return self.answers[question]

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.cls.name,
            "label": self.cls.label,
            "params": certs.exact_params(self.cls),
            "answers": {q: a.to_dict() for q, a in self.answers.items()},
            "details": self.details,
        }

    def __str__(self) -> str:
        lines = [f"{self.cls!r}"]
        for q, a in self.answers.items():
            lines.append(f"  {q:<11} {a.verdict:<8} {a.reason}")
        return "\n".join(lines)


def value_range(
    cls: str | FunctionClass, fv: FeatureVisualization | Observations, x: ArrayLike, **params: Any
) -> ValueRange:
    """The exact set of values f(x) over all members of the class with the visualization ``fv`` (or the
    finite observations), with witnesses attaining each end. ``d`` defaults to the visualization's dimension."""
    if not isinstance(cls, FunctionClass) and isinstance(fv, (FeatureVisualization, Observations)):
        params.setdefault("d", fv.d)
    return get_class(cls, **params).value_range(fv, x)


#: smallest eps (relative to Delta) answered: below it the searched visualizations leave floating point
MIN_EPS = 1e-12
#: range of L d for class-level answers (the searched visualizations have values up to L d)
CLASS_L = (1e-100, 1e100)


def check_class(
    cls: str | FunctionClass,
    *,
    fv: FeatureVisualization | None = None,
    x: ArrayLike | None = None,
    eps: float | None = None,
    eps_abs: float | None = None,
    **params: Any,
) -> ClassReport:
    """Answer the three questions for a class (or, with ``fv`` and ``x``, for that instance).

    Defaults: the class answer to "approx" is for every eps (``eps=None``); an instance answer without ``eps``
    uses eps = 1/4, which its reason states. ``d`` is the visualization's dimension for instances (a conflicting
    ``d`` is refused) and 1 for class answers; other parameters take the class constructor's defaults (e.g.
    L = 1, the 2-norm)."""
    if (fv is None) != (x is None):
        raise ValueError("give both fv= and x= to answer for one instance, or neither for the class-level answer")
    if fv is not None:
        if not isinstance(fv, FeatureVisualization):
            raise ValueError(
                f"fv must be a theory.FeatureVisualization(x_max, f_max, x_min, f_min), got {type(fv).__name__}"
            )
        if not isinstance(cls, FunctionClass):
            params.setdefault("d", fv.d)  # the input dimension is the visualization's
        d = cls.d if isinstance(cls, FunctionClass) else params["d"]
        if not isinstance(d, bool) and isinstance(d, (int, np.integer)) and d != fv.d:
            raise ValueError(
                f"d = {d} conflicts with the visualization, whose points have dimension {fv.d}: leave d out (it is "
                "taken from the visualization) or give a visualization in dimension d"
            )
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating, Fraction)):
            raise ValueError(f"eps = {eps!r} is not a number; eps is relative to Delta and must lie in (0, 1/2)")
        if not (0 < float(eps) < 0.5):
            raise ValueError(f"eps = {eps!r} is not allowed; eps is relative to Delta and must lie in (0, 1/2)")
        if fv is None and float(eps) < MIN_EPS:  # the class-level search builds visualizations from eps
            raise ValueError(
                f"eps = {eps!r} is not allowed for a class-level answer; it must lie in [{MIN_EPS:g}, 1/2)"
            )
        eps = float(eps)
    if eps_abs is not None:
        if eps is not None:
            raise ValueError("give eps (relative to Delta) or eps_abs (in units of f), not both")
        if isinstance(eps_abs, bool) or not isinstance(eps_abs, (int, float, np.integer, np.floating, Fraction)):
            raise ValueError(f"eps_abs = {eps_abs!r} is not a number; it must be a finite number > 0 (units of f)")
        if not (0 < float(eps_abs) <= MAX_MAGNITUDE):
            raise ValueError(
                f"eps_abs = {eps_abs!r} is not allowed; it must lie in (0, {MAX_MAGNITUDE:g}] (units of f)"
            )
        eps_abs = float(eps_abs)
    fc = get_class(cls, **params)
    if fv is not None:
        return _instance(fc, fv, as_point(x, fc.d), eps, eps_abs)  # type: ignore[arg-type]
    L = getattr(fc, "L", None)
    if L is not None and not CLASS_L[0] <= L * fc.d <= CLASS_L[1]:
        raise ValueError(
            f"L = {L:g} with d = {fc.d} is not allowed for a class-level answer: the searched visualizations have "
            f"values up to L d, so L d must lie in [{CLASS_L[0]:g}, {CLASS_L[1]:g}] (instances accept any L up to "
            f"{MAX_MAGNITUDE:g})"
        )
    report = _class_level(fc, eps)
    if eps_abs is not None:
        report.answers["approx"] = _class_abs(fc, eps_abs)
        report.details["eps_abs"] = eps_abs
    return report


def _approx_abs(
    fc: FunctionClass, fv: FeatureVisualization, vr: ValueRange, rng: dict[str, Any], eps_abs: float
) -> Answer:
    """eps in units of f: answered iff hi - lo <= 2 eps_abs. On a bracket (L-smooth, d >= 2) "yes" needs the proved
    outer range, "no" the members' range, and "open" is left in between."""
    limit = 2 * eps_abs * (1 + 1e-9)
    inner = f"half-width {vr.width / 2:.6g} vs eps_abs = {eps_abs:.6g}"
    if vr.extra.get("exact_range") is False and isinstance(fc, Smooth):
        from theory._smooth_region import approx_on_bracket, proved_range

        olo, ohi = proved_range(vr, fv, fc.L)
        proved = f"proved bounds allow [{olo:.6g}, {ohi:.6g}], half-width {(ohi - olo) / 2:.6g}"
        verdict = approx_on_bracket(vr, olo, ohi, limit)
        reason = {
            "yes": f"{proved} vs eps_abs = {eps_abs:.6g}",
            "no": f"members: {inner}",
            "open": f"open: the members' {inner}; the {proved}",
        }[verdict]
        return Answer("approx", cast(Verdict, verdict), reason, rng)
    return Answer("approx", "yes" if vr.width <= limit else "no", inner, rng)


def _lipschitz_abs(fc: Lipschitz, eps_abs: float) -> Answer:
    """L-Lipschitz f, eps in units of f: "yes" iff L T <= 2 eps_abs, T the widest triangle in the box
    (theory/_triangle.py), decided in exact arithmetic; "open" only where T is bracketed (the 2-norm in d >= 4 not
    divisible by 3, to within 1e-9 in T^2) and 2 eps_abs / L falls inside the bracket."""
    tri = fc.widest_triangle()
    L, e = to_fraction(fc.L), to_fraction(eps_abs)
    condition = f"L T <= 2 eps_abs, T = {tri.expr}"
    fits = tri.at_most(2 * e / L)
    if fits is None:
        return _open("approx", f"{fc!r}: {condition} is undecided here: 2 eps_abs / L = {float(2 * e / L):.6g}")
    if fits:
        T = tri.rational()
        if T is not None:
            sup = L * T
        else:  # the simplest rational in [L T, 2 eps_abs]; T irrational, so L T < 2 eps_abs
            lo = Fraction(fc.L * tri.upper) * (1 + Fraction(1, 10**12))
            sup = simplest_between(lo, min(2 * e, lo * (1 + Fraction(1, 10**6)))) if lo < 2 * e else 2 * e
            if not tri.at_most(sup / L):
                sup = 2 * e
        return _abs_bound(
            fc,
            f"every range is at most L T <= {fc.L * tri.upper:.6g} wide <= 2 eps_abs ({condition}); predict the "
            "midpoint",
            sup,
            eps_abs,
            "hi - lo <= min(Delta, L r_min, L r_max) <= L min(||x_max - x_min||, r_min, r_max) <= L T (Delta <= "
            "L ||x_max - x_min|| by consistency)",
            condition,
        )
    # x_min = a, x_max = b and Delta the simplest rational in (2 eps_abs, L m], m <= the smallest side of the
    # witness triangle (exactly, by squares for the 2-norm): the range at x is then [f_min, f_max], Delta wide
    x, a, b = tri.witness
    m = smallest_side_below(fc.norm, x, a, b)
    top = L * m
    delta = _delta_above(e, top)
    if delta is None or top - 2 * e <= top * Fraction(1, 10**9):  # relative: the same answer at every scale
        return _open("approx", f"{fc!r}: L T exceeds 2 eps_abs by less than the witness's rounding ({condition})")
    if delta > MAX_MAGNITUDE:
        return _beyond_magnitude(fc, eps_abs, condition)
    fv = FeatureVisualization(b, float(delta), a, 0.0)
    vr = fc.value_range(fv, x)
    if not vr.width > 2 * eps_abs:  # float rounding at a near-tie: no counterexample to print
        return _open("approx", f"{fc!r}: L T exceeds 2 eps_abs by less than the witness's rounding ({condition})")
    return _abs_counterexample(
        fc,
        f"only for small L: {condition}; here L T >= {fc.L * tri.lower:.6g}: at x = {x.tolist()} the range has "
        f"width {vr.width:.6g} > 2 eps_abs",
        fv,
        vr,
        eps_abs,
        condition,
    )


def _abs_bound(
    fc: FunctionClass,
    reason: str,
    sup: Fraction,
    eps_abs: float,
    argument: str,
    condition: str,
    extra: dict[str, Any] | None = None,
) -> Answer:
    """A "yes" for eps in units of f: every range is at most ``sup`` wide (the verifier re-proves it) <= 2 eps_abs;
    ``extra`` fields (e.g. the tree of ``boxes`` that proves it) go into the certificate."""
    cert = {
        "type": "bound",
        "class": fc.name,
        "params": certs.exact_params(fc),
        "question": "approx",
        "sup_width": fraction_str(sup),
        "eps_abs": fraction_str(eps_abs),
        "argument": argument,
        "condition": condition,
        **(extra or {}),
    }
    return Answer("approx", "yes", reason, cert)


def _abs_counterexample(
    fc: FunctionClass, reason: str, fv: FeatureVisualization, vr: ValueRange, eps_abs: float, condition: str = ""
) -> Answer:
    """A "no" for eps in units of f: the range at ``vr.x`` is wider than 2 eps_abs (its two witnesses)."""
    cert = {**certs.counterexample(fc, "approx", fv, vr), "eps_abs": fraction_str(eps_abs)}
    return Answer("approx", "no", reason, {**cert, "condition": condition} if condition else cert)


def _class_abs(fc: FunctionClass, eps_abs: float) -> Answer:
    """eps in units of f (docs/theory.md, "Absolute eps"). A class closed under scaling f answers "no" as soon as
    one range has positive width (scale it up); for L-Lipschitz f the widest range over every visualization and x
    is L T, T the largest smallest side of a triangle in the box, so the answer is "yes" iff L T <= 2 eps_abs."""
    if fc.decoder() is not None:
        dec = cast(dict[str, Any], fc.decoder())
        return Answer("approx", "yes", f"exact prediction: {dec['expr']}", certs.proof(fc, "approx", dec))
    if isinstance(fc, Lipschitz):
        return _lipschitz_abs(fc, eps_abs)
    if isinstance(fc, Smooth):
        return _smooth_abs(fc, eps_abs)
    if getattr(fc, "L", None) is not None:
        return _subclass_abs(fc, eps_abs)
    for fv, vr in _probe(fc):
        w = _rel_width(fv, vr)
        if w > 1e-9:  # scale f so that this width exceeds 2 eps_abs
            big = FeatureVisualization(fv.x_max, fv.f_min + 4 * eps_abs / w, fv.x_min, fv.f_min)
            vb = fc.value_range(big, vr.x)
            return _abs_counterexample(
                fc,
                f"scaling f is free in this class: at x = {vr.x.tolist()} with Delta = {big.delta:.6g} the range is "
                f"{vb.width:.6g} wide > 2 eps_abs",
                big,
                vb,
                eps_abs,
            )
    return _open("approx", "no range of positive width among the searched instances, and no decoder")


def _subclass_abs(fc: FunctionClass, eps_abs: float) -> Answer:
    """A class with a fixed L, eps in units of f. For the Lipschitz intersections the widest range W over every
    visualization and x is known (``theory._widest``: exactly, or bracketed with L T above): "yes" iff W <= 2 eps_abs
    (a bound certificate), "no" by the instance attaining the lower end, "open" inside a bracket. An intersection
    with the L-Lipschitz class also inherits that class's "yes" (every range is at most L T wide). Otherwise a
    searched range wider than 2 eps_abs is a "no" with its two witnesses, and the answer is "open" without one."""
    L, e = to_fraction(cast(Any, fc).L), to_fraction(eps_abs)
    wide = widest_for_class(fc.name, fc.d, str(getattr(fc, "norm", "2")))
    if wide is not None and wide.exact and (2 * e) ** 2 >= L * L * wide.lower_sq:
        return _widest_bound(fc, wide, L, e, eps_abs)
    if wide is not None and wide.upper_sq is not None and (2 * e) ** 2 >= L * L * wide.upper_sq:
        return _boxes_bound(fc, wide, L, eps_abs)
    if hasattr(fc, "norm"):
        sup = _lipschitz_abs(Lipschitz(fc.d, cast(Any, fc).L, cast(Any, fc).norm), eps_abs)
        if sup.verdict == "yes":
            cert = {**sup.certificate, "class": fc.name, "params": certs.exact_params(fc), "via_superclass": True}
            return Answer("approx", "yes", f"{sup.reason} (every member is L-Lipschitz)", cert)
    if wide is not None and L * L * wide.lower_sq > (2 * e) ** 2:
        answer = _widest_counterexample(fc, wide, L, e, eps_abs)
        if answer is not None:
            return answer
    wide_probe = [(f, v) for f, v in _probe(fc) if v.width > 2 * eps_abs + v.tol]
    if wide_probe:
        f0, v0 = max(wide_probe, key=lambda p: p[1].width)
        reason = f"at x = {v0.x.tolist()} (Delta = {f0.delta:.6g}) the range is {v0.width:.6g} wide > 2 eps_abs"
        return _abs_counterexample(fc, reason, f0, v0, eps_abs)
    if wide is not None:
        return _open(
            "approx",
            f"{fc!r}: the widest range W is bracketed, {wide.expr} <= W/L <= "
            f"{'T' if wide.upper_sq is None else exact_root(wide.upper_sq)}, and 2 eps_abs = "
            f"{float(2 * e):.6g} falls inside (theory/_widest.py)",
        )
    return _open(
        "approx", f"{fc!r}: no searched range is wider than 2 eps_abs, and the widest range is not known in closed form"
    )


def _widest_bound(fc: FunctionClass, wide: Widest, L: Fraction, e: Fraction, eps_abs: float) -> Answer:
    """The "yes" of a Lipschitz intersection whose widest range W = L sqrt(lower_sq) is proved and attained: a bound
    certificate with sup_width = W when that is rational, else a simple rational in [W, 2 eps_abs]."""
    root = exact_root(wide.lower_sq)
    if root is not None:
        sup = L * root
    else:
        up = L * root_above(wide.lower_sq)
        sup = simplest_between(up, 2 * e) if up < 2 * e else 2 * e
    condition = f"L W <= 2 eps_abs, W/L = {wide.expr}"
    return _abs_bound(
        fc,
        f"every range is at most L W <= {float(sup):.6g} wide <= 2 eps_abs ({condition}); predict the midpoint",
        sup,
        eps_abs,
        "the widest range of the class (theory/_widest.py, docs/theory.md 'Absolute eps'), attained, so the "
        "condition is exact",
        condition,
    )


def _boxes_bound(fc: FunctionClass, wide: Widest, L: Fraction, eps_abs: float) -> Answer:
    """The "yes" of convex and L-Lipschitz (2-norm, d >= 3) where W is bracketed but its proved upper end s L
    (a tree of boxes, theory/_convex_boxes.py) is at most 2 eps_abs: a bound certificate carrying the tree."""
    part = convex_boxes_part(fc.d)
    upper = exact_root(cast(Fraction, wide.upper_sq))
    if part is None or upper is None:
        raise RuntimeError(f"{fc!r}: a proved upper end without its tree of boxes")
    condition = f"L W <= 2 eps_abs, {wide.expr} <= W/L <= {upper} (a tree of boxes)"
    return _abs_bound(
        fc,
        f"every range is at most {float(upper * L):.6g} wide <= 2 eps_abs ({condition}); predict the midpoint",
        upper * L,
        eps_abs,
        "branch and bound over boxes of (x, x_min) with a convex combination of the three subgradient bounds per "
        "box (theory/_convex_boxes.py, docs/theory.md 'Absolute eps')",
        condition,
        {"boxes": part},
    )


def _delta_above(e: Fraction, top: Fraction) -> Fraction | None:
    """The Delta of an eps_abs counterexample: the simplest rational in [2 eps_abs + (top - 2 eps_abs)/1024, top],
    strictly above 2 eps_abs and at most top (the widest range the witness allows); None if top <= 2 eps_abs."""
    return simplest_between(2 * e + (top - 2 * e) / 1024, top) if top > 2 * e else None


def _widest_counterexample(fc: FunctionClass, wide: Widest, L: Fraction, e: Fraction, eps_abs: float) -> Answer | None:
    """The "no" of a Lipschitz intersection: the instance attaining sqrt(lower_sq) L > 2 eps_abs (for the monotone
    class Delta is the simplest rational in (2 eps_abs, L rho], where the range is all of [f_min, f_max]); None if
    float rounding leaves no range wider than 2 eps_abs."""
    capped = False
    if wide.delta_over_L is not None:
        delta: Fraction | None = L * wide.delta_over_L
        if delta is not None and delta > MAX_MAGNITUDE:  # c f is a member for c <= 1: the width scales with Delta
            delta, capped = Fraction(MAX_MAGNITUDE), True
    else:
        top = L * root_below(wide.lower_sq)
        delta = _delta_above(e, top)
    if delta is None:
        return None
    if delta > MAX_MAGNITUDE:
        return _beyond_magnitude(fc, eps_abs, "L W <= 2 eps_abs")
    fv = FeatureVisualization(wide.x_max, float(delta), wide.x_min, 0.0)
    vr = fc.value_range(fv, wide.x)
    if not vr.width > 2 * eps_abs:
        return _beyond_magnitude(fc, eps_abs, "L W <= 2 eps_abs") if capped else None
    condition = f"L W <= 2 eps_abs, W/L {'=' if wide.exact else '>='} {wide.expr}"
    return _abs_counterexample(
        fc,
        f"at x = {wide.x.tolist()} (x_min = {wide.x_min.tolist()}, x_max = {wide.x_max.tolist()}, Delta = "
        f"{float(delta):.6g}) the range is {vr.width:.6g} wide > 2 eps_abs",
        fv,
        vr,
        eps_abs,
        condition,
    )


def _beyond_magnitude(fc: FunctionClass, eps_abs: float, condition: str) -> Answer:
    """ "open" where the counterexample would need Delta beyond MAX_MAGNITUDE (values the engine does not represent)."""
    return _open(
        "approx",
        f"{fc!r}: {condition} fails, but a range wider than 2 eps_abs = {2 * eps_abs:.6g} needs Delta beyond "
        f"{MAX_MAGNITUDE:g}, the largest magnitude the engine represents",
    )


def _smooth_abs(fc: Smooth, eps_abs: float) -> Answer:
    """L-smooth, eps in units of f (docs/theory.md, "Absolute eps"). d = 1: every range is at most L/4 wide, attained
    at x = 1/2 for x_min = 0, x_max = 1, Delta >= L/2, so "yes" iff L <= 8 eps_abs. d >= 2: f_min + Delta y_k is a
    member for every Delta (L-smooth for every L), so with x_min = 0, x_max = (1, ..., 1) the range at x = e_1 is all
    of [f_min, f_max]: "no" for every eps_abs."""
    L, e = to_fraction(fc.L), to_fraction(eps_abs)
    condition = "L/4 <= 2 eps_abs" if fc.d == 1 else "never (Delta is unbounded)"
    if fc.d == 1 and 8 * e >= L:  # L/4 <= 2 eps_abs
        return _abs_bound(
            fc,
            f"every range is at most L/4 = {fc.L / 4:.6g} wide <= 2 eps_abs ({condition}); predict the midpoint",
            L / 4,
            eps_abs,
            "h = f - g has |h''| <= 2L and vanishes at x_min and x_max (with h' = 0 at an interior one); with "
            "Delta <= L D^2/2 (one interior extremum) this bounds |h| by L/4 (docs/theory.md)",
            condition,
        )
    # a counterexample wider than 2 eps_abs: Delta the simplest rational in [max(L, 4 eps_abs), 2 max(...)]
    top = max(L, 4 * e)
    delta = simplest_between(top, 2 * top)
    if delta > MAX_MAGNITUDE:  # before building the visualization, which refuses such values
        return _open("approx", f"{fc!r}: the counterexample needs Delta > {MAX_MAGNITUDE:g} ({condition})")
    if fc.d == 1:
        fv = FeatureVisualization([1.0], float(delta), [0.0], 0.0)
        x = np.array([0.5])
    else:
        fv = FeatureVisualization(np.ones(fc.d), float(delta), np.zeros(fc.d), 0.0)
        x = np.eye(fc.d)[0]
    vr = fc.value_range(fv, x)
    if not vr.width > 2 * eps_abs + vr.tol:
        return _open("approx", f"{fc!r}: L/4 exceeds 2 eps_abs by less than the witnesses' rounding ({condition})")
    why = (
        f"only for small L ({condition}); here L/4 = {fc.L / 4:.6g} > 2 eps_abs"
        if fc.d == 1
        else "never in d >= 2: f_min + Delta y_1 is a member for every Delta, so ranges are unbounded"
    )
    return _abs_counterexample(
        fc,
        f"{why}: at x = {x.tolist()} with x_min = {fv.x_min.tolist()}, x_max = {fv.x_max.tolist()}, "
        f"Delta = {fv.delta:.6g} the range is {vr.width:.6g} wide > 2 eps_abs",
        fv,
        vr,
        eps_abs,
        condition,
    )


# ---------------------------------------------------------------------------------------------------------
def _instance(
    fc: FunctionClass, fv: FeatureVisualization, x: FloatArray, eps: float | None, eps_abs: float | None = None
) -> ClassReport:
    vr = fc.value_range(fv, x)
    rng = vr.to_dict()
    e = 0.25 if eps is None else float(eps)
    dec = vr.decision()
    answers = {
        "exact": Answer(
            "exact",
            "yes" if vr.is_exact() else "no",
            f"f(x) in [{vr.lo:.6g}, {vr.hi:.6g}]" + (" (a single value)" if vr.is_exact() else ""),
            rng,
        ),
        "approx": Answer(
            "approx",
            "yes" if vr.is_approximable(e) else "no",
            f"half-width {vr.width / 2:.6g} vs eps*Delta = {e * fv.delta:.6g} (eps = {e:g})",
            rng,
        ),
        "min_or_max": Answer(
            "min_or_max",
            "yes" if dec else "no",
            f"every member gives '{dec}'"
            if dec
            else f"members disagree: [{vr.lo:.6g}, {vr.hi:.6g}] contains c = {fv.midpoint:.6g}",
            rng,
        ),
    }
    if vr.extra.get("exact_range") is False and isinstance(fc, Smooth):
        # a bracket (L-smooth, d >= 2): "yes" only where the proved outer bounds decide, "no" only where members
        # refute, "open" in between (theory/_smooth_region.py)
        from theory._smooth_region import instance_verdicts, proved_range

        olo, ohi = proved_range(vr, fv, fc.L)
        bracket = f"members take f(x) in [{vr.lo:.6g}, {vr.hi:.6g}], proved bounds allow [{olo:.6g}, {ohi:.6g}]"
        why = {
            "exact": "the members found agree at x, the proved bounds do not pin f(x)",
            "approx": f"the members' half-width {vr.width / 2:.6g} is within eps Delta = {e * fv.delta:.6g}, the "
            f"proved bounds' {(ohi - olo) / 2:.6g} is not",
            "min_or_max": f"c = {fv.midpoint:.6g} lies inside the proved range but not inside the members' range",
        }
        lp = vr.extra.get("outer_certificates")
        if lp:  # the outer ends proved by the two-point LP travel with the answers
            rng = {**rng, "outer": [olo, ohi], "outer_certificates": lp}
        for q, v in instance_verdicts(vr, fv, e, fc.L).items():
            a = answers[q]
            if v != a.verdict:
                reason = f"open: {bracket}; {why[q]}" if v == "open" else f"{v}: {bracket}"
            elif lp and v == "yes":
                reason = f"{a.reason}; proved: {bracket} (outer ends by the two-point LP, exact dual certificates)"
            else:
                reason = a.reason
            answers[q] = Answer(q, cast(Verdict, v), reason, rng)
    if eps_abs is not None:
        answers["approx"] = _approx_abs(fc, fv, vr, answers["approx"].certificate, eps_abs)
        return ClassReport(fc, answers, {"instance": True, "eps_abs": eps_abs})
    return ClassReport(fc, answers, {"instance": True, "eps": e})


def _probe(fc: FunctionClass) -> list[tuple[FeatureVisualization, ValueRange]]:
    """Value ranges over the class's probe instances. The search stops at the first instance whose range is
    all of [f_min, f_max] (the strongest counterexample to all three questions), except for classes with a
    parameter threshold (Lipschitz), whose "depends" analysis needs the whole family: there the query points of
    one visualization are evaluated as one batch (``_value_ranges``)."""
    out: list[tuple[FeatureVisualization, ValueRange]] = []
    has_L = _has_L(fc)
    if has_L:
        groups: dict[int, tuple[FeatureVisualization, list[FloatArray]]] = {}
        for fv, x in fc.probe_instances():
            groups.setdefault(id(fv), (fv, []))[1].append(x)
        for fv, xs in groups.values():
            group_obs = fv.observations()
            fc.check_consistent(group_obs)
            out.extend((fv, vr) for vr in fc._value_ranges(group_obs, np.stack(xs)))
    else:
        checked: dict[int, Observations] = {}  # one consistency check per visualization, not per query point
        for fv, x in fc.probe_instances():
            obs = checked.get(id(fv))
            if obs is None:
                obs = checked[id(fv)] = fv.observations()
                fc.check_consistent(obs)
            vr = fc._value_range(obs, x)
            out.append((fv, vr))
            if fv.delta > 0 and vr.lo <= fv.f_min and vr.hi >= fv.f_max:
                break
    if not out:
        raise EngineError(f"the class {fc!r} admits none of the probe visualizations")
    return out


def _rel_width(fv: FeatureVisualization, vr: ValueRange) -> float:
    return vr.width / fv.delta if fv.delta > 0 else 0.0


def _straddle(fv: FeatureVisualization, vr: ValueRange) -> float:
    """How far the range reaches past c on its weaker side, relative to Delta (> 0 iff undecided)."""
    if vr.decision() is not None or fv.delta == 0:
        return -math.inf
    c = fv.midpoint
    return min(vr.hi - c, c - vr.lo) / fv.delta


def _closest(
    probes: list[tuple[FeatureVisualization, ValueRange]], k: int
) -> list[tuple[FeatureVisualization, ValueRange]]:
    """The k instances whose x is closest to x_max or x_min, relative to ||x_max - x_min|| (stable order)."""
    if not probes:
        return []
    X = np.stack([v.x for _, v in probes])
    XMAX = np.stack([f.x_max for f, _ in probes])
    XMIN = np.stack([f.x_min for f, _ in probes])
    D = np.linalg.norm(XMAX - XMIN, axis=1)
    D[D == 0] = 1.0
    near = np.minimum(np.linalg.norm(X - XMIN, axis=1), np.linalg.norm(X - XMAX, axis=1)) / D
    return [probes[i] for i in np.argsort(near, kind="stable")[:k]]


def _class_level(fc: FunctionClass, eps: float | None) -> ClassReport:
    probes = _probe(fc)
    answers: dict[str, Answer] = {}
    details: dict[str, Any] = {"instances_searched": len(probes)}
    decoder = fc.decoder()

    def yes(question: str, what: str) -> Answer:
        if decoder is None:  # no counterexample found, and no proof: unproven either way
            return _open(question, f"no counterexample among {len(probes)} searched instances, and no proof")
        _check_decoder(fc, decoder, probes)
        return Answer(
            question,
            "yes",
            f"the visualization determines f(x): {what} {decoder['expr']}",
            certs.proof(fc, question, decoder),
        )

    # exact ------------------------------------------------------------------------------------------------
    fv, vr = max(probes, key=lambda p: (_rel_width(*p), p[1].extra.get("exact_witnesses", True)))
    if _rel_width(fv, vr) > 1e-9:
        answers["exact"] = Answer(
            "exact",
            "no",
            f"two members with the same visualization differ by {_rel_width(fv, vr):.3g} Delta at x = {vr.x.tolist()}",
            certs.counterexample(fc, "exact", fv, vr),
        )
    else:
        answers["exact"] = yes("exact", "f(x) =")

    # approx -----------------------------------------------------------------------------------------------
    w_star = _rel_width(fv, vr)
    bound = fc.approx_bound()
    attained = bound is not None and math.isclose(float(Fraction(bound["sup_width"])), w_star, rel_tol=1e-9)
    if eps is None:
        if w_star >= 1 - 1e-9:
            answers["approx"] = Answer(
                "approx",
                "no",
                f"at x = {vr.x.tolist()} the values fill all of [f_min, f_max]: no prediction beats the midpoint, "
                "for every eps < 1/2",
                certs.counterexample(fc, "approx", fv, vr),
            )
        elif w_star <= 1e-9:
            answers["approx"] = yes("approx", "exact prediction")
        elif bound is not None and attained:
            half = Fraction(bound["sup_width"]) / 2
            answers["approx"] = Answer(
                "approx",
                "depends",
                f"depends on eps: answered for every visualization and x iff eps >= {half} "
                f"(proved: {bound['argument']})",
                {
                    "type": "condition",
                    "parameter": "eps",
                    "condition": f"eps >= {half}",
                    "short": f"iff eps >= {half}",
                    "proof": certs.bound_proof(fc, bound),
                    "counterexample": certs.counterexample(fc, "approx", fv, vr),
                },
            )
        else:
            answers["approx"] = _open(
                "approx",
                f"the widest searched range is {w_star:.6g} Delta, but no bound over every visualization is proved",
            )
    elif getattr(fc, "L", None) is not None:
        answers["approx"] = _approx_fixed_eps_L(fc, eps, probes)
    else:
        # no parameter: ranges relative to Delta do not depend on the scale of f, so one instance whose range is
        # wider than 2 eps Delta is a proof of "no" for the class
        bad = [(f, v) for f, v in probes if not v.is_approximable(eps)]
        if not bad and bound is not None and attained and 2 * Fraction(eps) < Fraction(bound["sup_width"]):
            # eps within the float tolerance below the proved, attained bound: the widest probe (width exactly
            # sup_width Delta, checked exactly by the verifier) still refutes it
            bad = [max(probes, key=lambda p: _rel_width(*p))]
        if bad:
            f0, v0 = max(bad, key=lambda p: _rel_width(*p))
            answers["approx"] = Answer(
                "approx",
                "no",
                f"half-width {v0.width / 2:.10g} > eps Delta = {eps * f0.delta!r} at x = {v0.x.tolist()}",
                {**certs.counterexample(fc, "approx", f0, v0), "eps": fraction_str(eps)},
            )
        elif w_star <= 1e-9 and decoder is not None:
            answers["approx"] = yes("approx", "exact prediction")
        elif bound is not None and 2 * Fraction(eps) >= Fraction(bound["sup_width"]):
            answers["approx"] = Answer(
                "approx",
                "yes",
                f"every range is at most {bound['sup_width']} Delta wide <= 2 eps Delta ({bound['argument']}); "
                "predict the midpoint of the range",
                {**certs.bound_proof(fc, bound), "eps": fraction_str(eps)},
            )
        else:
            answers["approx"] = _open("approx", f"no counterexample for eps = {eps!r} among the searched instances")

    # min_or_max -------------------------------------------------------------------------------------------
    undecided = [(f, v) for f, v in probes if v.decision() is None]
    if isinstance(fc, Smooth) and fc.d >= 2:
        # brackets, but the decided cases (both extrema flat for x, radial members) give the exact threshold
        # L*(x) = Delta / min(||x - x_min||, ||x - x_max||)^2 (theory/_smooth_region.py): "depends"
        from theory._smooth_region import min_or_max_threshold

        reason, cert = min_or_max_threshold(fc)
        answers["min_or_max"] = Answer("min_or_max", "depends", reason, cert)
    elif getattr(fc, "L", None) is not None and not fc.ranges_exact():
        # with a Lipschitz-type L the verdict is "depends on L/Delta" when the threshold is known exactly; on
        # brackets with no decided cases the exact condition is open
        answers["min_or_max"] = _open(
            "min_or_max",
            f"{fc!r}: answered near x_min and x_max (outer bound) and not everywhere (inner range), but the exact "
            "condition is unknown because the ranges are brackets",
        )
    elif not undecided:
        answers["min_or_max"] = yes("min_or_max", "the sign of f(x) - c follows from")
    else:
        depends = None
        if _has_L(fc):
            # try the undecided instances closest (relative to ||x_max - x_min||) to a visualization point first:
            # that is where a smaller L would certify the answer; a handful suffices
            exact = [p for p in undecided if p[1].extra.get("exact_witnesses", True)]  # certifiable witnesses
            for f0, v0 in _closest(exact, 8):
                depends = _parameter_dependence(fc, "min_or_max", f0, v0, None)
                if depends:
                    break
        f0, v0 = max(undecided, key=lambda p: (_straddle(*p), p[1].extra.get("exact_witnesses", True)))
        answers["min_or_max"] = depends or Answer(
            "min_or_max",
            "no",
            f"at x = {v0.x.tolist()} members reach both {v0.lo:.3g} and {v0.hi:.3g} around c = {f0.midpoint:.3g}",
            certs.counterexample(fc, "min_or_max", f0, v0),
        )
    if isinstance(fc, Lipschitz):
        from theory._lipschitz_region import region_details

        details["certified_region"] = region_details(fc)
    return ClassReport(fc, answers, details)


def _open(question: str, why: str) -> Answer:
    """No proof either way: the engine says so instead of guessing."""
    return Answer(question, "open", f"open: {why}", {"type": "open", "reason": why})


def _approx_fixed_eps_L(fc: FunctionClass, eps: float, probes: list[tuple[FeatureVisualization, ValueRange]]) -> Answer:
    """eps-approximation at a fixed eps for a class with a Lipschitz-type parameter L (L fixed, the
    visualization free). The answer at (fv, x) is exactly "hi(x) - lo(x) <= 2 eps Delta" with the class's exact
    range; it depends on L/Delta: for Delta small relative to L some x has the full range [f_min, f_max], for the
    tightest Delta the geometry allows the range at the midpoint of x_min, x_max shrinks to (nearly) a point.
    The certificate holds one instance of each kind: "yes" on the geometry x_min = 0, x_max = e_1, x their
    midpoint, with Delta from tight to loose; "no" there or at the widest searched instance."""
    if isinstance(fc, Smooth) and fc.d >= 2:  # exact on the midpoint family (flat-rise lemma, radial members)
        from theory._smooth_region import approx_fixed_eps

        reason, cert = approx_fixed_eps(fc, eps)
        return Answer("approx", "depends", reason, cert)
    if not fc.ranges_exact():
        return _open("approx", f"{fc!r}: the value ranges are brackets, not exact, so the exact condition is unknown")
    condition = fc.approx_condition()
    d = fc.d
    xmin, xmax = np.zeros(d), np.zeros(d)
    xmax[0] = 1.0
    x = (xmin + xmax) / 2
    L = float(cast(_WithL, fc).L)
    below = above = None
    for delta in (L, L / 2, L / 8, L / 64, math.ceil(L / (8 * eps) * 64) / 64, 8 * L, 64 * L):
        fv = FeatureVisualization(xmax, delta, xmin, 0.0)
        if not fc.is_consistent(fv):
            continue
        vr = fc.value_range(fv, x)
        if vr.is_approximable(eps):
            below = below or (fv, vr)
        else:
            above = above or (fv, vr)
    wide = [(f, v) for f, v in probes if not v.is_approximable(eps)]
    if above is None and wide:
        above = max(wide, key=lambda p: _rel_width(*p))
    if below is None or above is None:
        return _open("approx", f"{fc!r}: no pair of instances on both sides of the condition {condition} was found")
    (fb, vb), (fa, va) = below, above
    return Answer(
        "approx",
        "depends",
        f"depends on L/Delta: answered at x iff {condition}; e.g. yes at x = {vb.x.tolist()} for x_min = 0, "
        f"x_max = e_1, Delta = {fb.delta:g} (half-width {vb.width / 2:.3g}), no at x = {va.x.tolist()} for "
        f"x_min = {fa.x_min.tolist()}, x_max = {fa.x_max.tolist()}, Delta = {fa.delta:g} "
        f"(half-width {va.width / 2:.3g} > eps Delta)",
        certs.approx_condition(fc, eps, condition, (fb, vb), (fa, va)),
    )


def _check_decoder(
    fc: FunctionClass, decoder: dict[str, Any], probes: list[tuple[FeatureVisualization, ValueRange]]
) -> None:
    """The decoder must agree with the engine's (single-valued) range on every probe; a disagreement is a bug."""
    import sympy

    syms = {v: sympy.Symbol(v, real=True) for v in decoder["vars"]}
    expr = fc.decoder_expr(syms)  # built from structured data, never parsed from text
    if expr is None or str(expr) != decoder["expr"]:
        raise EngineError(f"{fc!r}: the decoder's text {decoder['expr']!r} is not its expression {expr!s}")
    fn = sympy.lambdify([syms[v] for v in decoder["vars"]], expr, "math")
    for fv, vr in probes:
        args = [*vr.x, *fv.x_max, *fv.x_min, fv.f_max, fv.f_min]
        val = float(fn(*args))
        if not (vr.lo - 1e-9 <= val <= vr.hi + 1e-9 and vr.is_exact()):
            raise EngineError(f"{fc!r}: decoder {decoder['expr']} gives {val} at {vr!r}")


def _parameter_dependence(
    fc: FunctionClass, question: str, fv: FeatureVisualization, vr: ValueRange, eps: float | None
) -> Answer | None:
    """For classes with a Lipschitz parameter L (they define ``with_L`` and ``smallest_L``): is the question
    answered at (fv, x) for every L' in an open interval above the smallest L the visualization allows? If so,
    find the threshold L* by bisection on the engine (and compare it with the class's closed form
    ``critical_L`` when it has one)."""
    if not _has_L(fc) or fv.delta == 0:
        return None
    lip = cast(_WithL, fc)
    x = vr.x

    obs = fv.observations()

    def ok(L: float) -> bool:
        other = lip.with_L(L)
        try:
            other.check_consistent(obs)
        except InconsistentVisualization:  # L below what the visualization (and the class) allow
            return False
        r = other._value_range(obs, x)  # x is a validated point of the domain (it came from a value range)
        return r.decision() is not None if question == "min_or_max" else r.is_approximable(eps or 0.0)

    L_min = lip.smallest_L(fv)
    # An open interval, not a numerical accident at L_min (where the visualization may force f): the threshold
    # must clear L_min by a relative margin of 1e-3.
    floor = L_min * (1 + 1e-3)
    grid = [L_min * (1 + t) for t in (2e-3, 1e-2, 0.1, 0.5)] + [L_min + (lip.L - L_min) * s for s in (0.25, 0.5)]
    good = [L for L in grid if floor < L < lip.L and ok(L)]
    if not good:
        return None
    lo_L, hi_L = max(good), lip.L
    for _ in range(60):  # until the bracket is 1e-10 relative (the closed-form check allows 1e-6)
        if hi_L - lo_L <= 1e-10 * hi_L:
            break
        mid = (lo_L + hi_L) / 2
        lo_L, hi_L = (mid, hi_L) if ok(mid) else (lo_L, mid)
    # Certify the region below L* through the plain Lipschitz class when the class is a subclass of it (a claim
    # proved for every L-Lipschitz function holds for every member): L_below must then also be below the
    # Lipschitz class's own threshold.
    cap = lo_L
    superclass: Lipschitz | None = None
    if not isinstance(fc, Lipschitz) and hasattr(fc, "norm"):
        superclass = Lipschitz(fc.d, lip.L, fc.norm)  # type: ignore[attr-defined]
        cap = min(cap, superclass.critical_L(fv, x))
    L_below = float(Fraction((L_min + cap) / 2).limit_denominator(64))
    if not (L_min < L_below < cap and ok(L_below)):
        L_below = (L_min + cap) / 2
    below = lip.with_L(L_below)
    vr_below = below.value_range(fv, x)
    # fixed rounding down to 7 significant digits (the bisection's bracket is 1e-10 relative, the closed-form check
    # 1e-6; down keeps it on the answered side): outputs regenerate byte for byte
    detail: dict[str, Any] = {
        "type": "threshold",
        "parameter": "L",
        "L_min": L_min,
        "L_star_bisection": _floor_digits(lo_L, 7),
    }
    if question == "min_or_max" and hasattr(fc, "critical_L"):
        closed = fc.critical_L(fv, x)
        if not math.isclose(closed, lo_L, rel_tol=1e-6):
            raise EngineError(f"{fc!r}: bisection threshold {lo_L} disagrees with the closed form {closed}")
        detail["L_star_closed_form"] = closed
        detail["condition"] = fc.region_condition()  # type: ignore[attr-defined]
        detail["short"] = fc.region_short()  # type: ignore[attr-defined]
        detail["below"] = certs.region(below, fv, vr_below, str(vr_below.decision()))
    elif question == "min_or_max" and superclass is not None and L_min < L_below < cap:
        # an exact condition on the class's range without a closed-form L* (convex and Lipschitz)
        detail["condition"] = f"{fc.region_condition()}; here L* = {lo_L:.6g} (bisection on that range)"  # type: ignore[attr-defined]
        detail["short"] = fc.region_short()  # type: ignore[attr-defined]
        sup = superclass.with_L(L_below)
        detail["below"] = certs.region(sup, fv, sup.value_range(fv, x), str(vr_below.decision()))
        detail["below"]["via_superclass"] = True
    else:
        what = "every member agrees on the side of c" if question == "min_or_max" else f"half-width <= {eps} Delta"
        detail["condition"] = f"at x: {what} iff L < L*(x) (here L* = {lo_L:.6g}, found by bisection on the engine)"
        detail["short"] = "only for small L (L < L*(x), computed)"
        detail["below"] = {"L": L_below, "range": [vr_below.lo, vr_below.hi], "decision": vr_below.decision()}
    detail["above"] = certs.counterexample(fc, question, fv, vr)
    reason = (
        f"depends on L/Delta: with Delta = {fv.delta:.4g} at x = {x.tolist()}, answered iff L < {lo_L:.4g} "
        f"(smallest L allowed {L_min:.4g}, here L = {lip.L:g}); {detail['condition']}"
    )
    return Answer(question, "depends", reason, detail)


def _floor_digits(v: float, digits: int) -> float:
    """v rounded down to ``digits`` significant digits (v > 0)."""
    if v <= 0 or not math.isfinite(v):
        return v
    k = digits - 1 - math.floor(math.log10(v))
    return math.floor(v * 10.0**k) / 10.0**k
