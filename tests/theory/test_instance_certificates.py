"""Every "no" of an instance answer carries a typed counterexample certificate that the verifiers check (the
review of untrusted inputs found instance answers were never verified); "yes" keeps the range dict."""

from __future__ import annotations

import copy

import pytest

from counterexamples import verify_report
from counterexamples.verify import verify_certificate
from theory import FeatureVisualization, check_class

CASES = [
    ("lipschitz", {"L": 2.0}, FeatureVisualization([1.0], 1.0, [0.0], 0.0), [0.7], {}),
    ("convex", {}, FeatureVisualization([1.0, 1.0], 1.0, [0.0, 0.0], 0.0), [0.5, 0.9], {}),
    ("monotonic", {}, FeatureVisualization([1.0], 1.0, [0.0], 0.0), [0.3], {"eps": 0.1}),
    ("smooth", {"L": 1.0}, FeatureVisualization([0.0, 1.0], 0.224, [0.0, 0.28], 0.0), [0.7, 0.3], {"eps": 0.1}),
    ("lipschitz", {"L": 2.0}, FeatureVisualization([1.0], 1.0, [0.0], 0.0), [0.7], {"eps_abs": 0.2}),
]


@pytest.mark.parametrize(("name", "params", "fv", "x", "eps"), CASES)
def test_every_no_of_an_instance_is_a_verified_counterexample(name, params, fv, x, eps):
    report = check_class(name, fv=fv, x=x, **params, **eps)
    nos = [q for q, a in report.answers.items() if a.verdict == "no"]
    assert nos, "the case must refute something"
    verified = verify_report(report)  # raises CertificateError naming a failed check
    assert set(nos) <= set(verified)
    for q in nos:
        cert = report.answers[q].certificate
        assert cert["type"] == "counterexample" and cert["question"] == q and "lo" in cert  # the range stays
        bad = copy.deepcopy(cert)
        bad["values_at_x"][1] = "1/3" if bad["values_at_x"][1] != "1/3" else "1/5"
        assert not verify_certificate(bad).ok
    for a in report.answers.values():
        if a.verdict == "yes":
            assert "type" not in a.certificate
