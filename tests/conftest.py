"""Hypothesis profiles: random examples by default (to find new counterexamples), the same examples every time
under CI (``HYPOTHESIS_PROFILE=ci`` in ``.ci/run``), so that a landing does not hinge on a lucky draw."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
