"""Certificates state the exact value of each witness at x, for every norm (a 1- or inf-norm cone's value is a
rational that the float of the range end does not always recover)."""

from __future__ import annotations

import pytest

from counterexamples import verify_report
from theory import check_class


@pytest.mark.parametrize("norm", ["1", "inf"])
@pytest.mark.parametrize(("d", "L"), [(3, 0.3), (3, 0.7), (6, 1.7), (2, 123.456)])
def test_lipschitz_certificates_verify_in_every_norm(norm, d, L):
    report = check_class("lipschitz", d=d, L=L, norm=norm)
    verified = verify_report(report)  # raises CertificateError naming the failed check
    assert set(verified) == {"exact", "approx", "min_or_max"}
