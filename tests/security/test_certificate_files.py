"""Certificate files from someone else: every malformed field is one ValueError naming the file, never a traceback
(found by the review of untrusted inputs)."""

from __future__ import annotations

import json

import pytest

from counterexamples.verify import verify_file

GOOD = {
    "type": "counterexample",
    "class": "lipschitz",
    "params": {"d": 1, "L": "2", "norm": "2"},
    "question": "exact",
    "fv": {"x_max": ["1"], "f_max": "1", "x_min": ["0"], "f_min": "0"},
    "x": ["1/2"],
    "witnesses": [
        {"kind": "sympy", "expr": "x0", "vars": ["x0"]},
        {"kind": "sympy", "expr": "Min(1, 2*x0)", "vars": ["x0"]},
    ],
    "values_at_x": ["1/2", "1"],
}


def test_the_good_file_verifies(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(GOOD))
    assert verify_file(path).ok


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (json.dumps(GOOD)[:-1] + ', "class": "black_box"}', "appears twice"),
        (json.dumps({**GOOD, "params": {**GOOD["params"], "norm": "x"}}), "params.norm"),
        (json.dumps({**GOOD, "params": [1, 2]}), "params must be a JSON object"),
        (
            json.dumps(
                {**GOOD, "witnesses": [{"kind": "sympy", "expr": "x0", "vars": [f"v{k}" for k in range(5000)]}] * 2}
            ),
            "at most 1000",
        ),
    ],
)
def test_a_malformed_file_is_one_error_naming_it(tmp_path, text, says):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=says) as err:
        verify_file(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
