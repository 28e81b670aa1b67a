"""Certificates and exported witness files read from disk as untrusted data.

``load_certificate(path)`` reads one JSON file (at most ``MAX_FILE_BYTES``), accepts both the certificate form
(``fv``) and the exported witness-file form written by ``counterexamples.write_witnesses`` (``visualization``), and
parses every expression and number by the allow-list grammar before anything is checked; any problem is a
``ValueError`` naming the file. ``verify_file(path)`` then runs ``verify_counterexample`` (and, when the file also
carries them, the same checks on ``witnesses_as_pieces`` / ``witnesses_as_breakpoints``). Certificates of the other
types (``bound``, ``condition``, ``threshold``, ``proof``, ``region``, ``open``) go to ``verify_certificate``, which
parses every number and expression of its parts before checking them (a parse error is a failed check there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from counterexamples.verify._certificates import _parse_all, verify_counterexample
from counterexamples.verify._exact import vec
from counterexamples.verify._report import Report

MAX_FILE_BYTES = 64 * 2**20
_ALTERNATIVE_FORMS = ("witnesses_as_pieces", "witnesses_as_breakpoints")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all distinct (a repeated key, e.g. two "class" fields, is refused: which one a
    reader takes differs between readers)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def load_certificate(path: str | Path) -> dict[str, Any]:
    """The counterexample certificate in ``path``, validated (structure, numbers, every expression) before use."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{p}: {size} bytes, more than the {MAX_FILE_BYTES} allowed for a certificate")
        doc = json.loads(p.read_bytes(), object_pairs_hook=_no_duplicates)
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{p}: cannot be read ({err.__class__.__name__}: {err})") from None
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{p}: not a JSON document ({err})") from None
    except ValueError as err:  # the size limit (names the file) or a repeated key (does not)
        raise ValueError(str(err) if str(err).startswith(str(p)) else f"{p}: {err}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{p}: a certificate must be a JSON object")
    cert = dict(doc)
    if cert.get("type", "counterexample") != "counterexample":  # bound, condition, threshold, proof, region, ...:
        return cert  # their numbers and expressions are parsed by verify_certificate before any check runs
    if "fv" not in cert and "visualization" in cert:
        cert["fv"] = cert.pop("visualization")
    missing = [k for k in ("class", "fv", "x", "witnesses", "values_at_x") if k not in cert]
    if missing:
        raise ValueError(f"{p}: missing {', '.join(missing)} (a counterexample certificate needs all of them)")
    params = cert.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"{p}: params must be a JSON object, not {type(params).__name__}")
    if "norm" in params and str(params["norm"]) not in ("1", "2", "inf"):
        raise ValueError(f"{p}: params.norm = {params['norm']!r}; allowed: 1, 2, inf")
    fv = cert["fv"]
    if not isinstance(fv, dict) or any(k not in fv for k in ("x_max", "x_min", "f_max", "f_min")):
        raise ValueError(f"{p}: the visualization needs x_max, x_min, f_max and f_min")
    try:
        for key in ("x_max", "x_min"):
            vec(fv[key])
        vec([fv["f_max"], fv["f_min"]])
        vec(cert["x"])
        _parse_all(cert, str(p))
        for form in _ALTERNATIVE_FORMS:
            if form in cert:
                _parse_all({**cert, "witnesses": cert[form]}, f"{p}: {form}")
    except (KeyError, TypeError) as err:
        raise ValueError(f"{p}: malformed certificate ({err.__class__.__name__}: {err})") from None
    except ValueError as err:
        msg = str(err)
        raise ValueError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None
    return cert


def verify_file(path: str | Path) -> Report:
    """Load (validating everything first) and verify one certificate or exported witness file."""
    from counterexamples.verify._kinds import params_refused, verify_certificate

    cert = load_certificate(path)
    if cert.get("type", "counterexample") != "counterexample":
        return verify_certificate(cert, source=str(path))
    bad = params_refused(cert)
    if bad is not None:
        rep = Report(f"counterexample ({path})")
        rep.add(*bad)
        return rep
    rep = verify_counterexample(cert, source=str(path))
    for form in _ALTERNATIVE_FORMS:
        if form in cert:
            alt = {**cert, "witnesses": cert[form]}
            if alt["class"] == "erm_network":  # the data-set checks need the network form (checked above)
                alt["class"] = "neural_network"
            rep.extend(verify_counterexample(alt, source=f"{path}: {form}"), f"{form}: ")
    return rep
