"""Golden outputs: a fixed list of gap, sensitivity, pathways, programs, occupation and brief commands
must print what they printed when the list was recorded (tests/golden/expected.json).

A deliberate change of the method re-records the list (``python -m tests.golden.run --data-dir DIR
--record``) in the same commit; anything else that moves a number is a regression.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.run import EXPECTED, run_all


@pytest.fixture(scope="module")
def outputs(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_all(ingested, tmp_path_factory.mktemp("golden"))


def test_every_golden_output_unchanged(outputs: dict) -> None:
    want = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert set(outputs) == set(want), "the command list and expected.json disagree: re-record"
    changed = []
    for name, exp in want.items():
        got = outputs[name]
        if got["sha256"] != exp["sha256"]:
            diff = {k: (exp["summary"].get(k), got["summary"].get(k)) for k in set(exp["summary"]) | set(got["summary"])
                    if exp["summary"].get(k) != got["summary"].get(k)}
            changed.append(f"{name}: {diff or 'same summary, other cells differ'}")
    assert not changed, "outputs changed:\n" + "\n".join(changed)
