"""CI's quality gate: the eval sets run end to end with the default models and must hold their floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.floors import failures, load
from tests.helpers import rag, require_shared

ROOT = Path(__file__).resolve().parent.parent
FLOORS = load()


@pytest.mark.parametrize("name", [k for k, spec in FLOORS.items() if spec.get("gate", "test") == "test"])
def test_eval_metrics_hold_their_floors(name, tmp_path):
    spec = FLOORS[name]
    corpus = (ROOT / spec["corpus"]).resolve()
    if "shared" in spec["corpus"]:
        require_shared(corpus)
    args = [
        "eval",
        "--set",
        spec["set"],
        "--corpus",
        str(corpus),
        "--json",
        "--out",
        str(tmp_path / "rows.jsonl"),
    ]
    if spec.get("split"):
        args += ["--split", spec["split"]]
    result = rag(*args, env={"RAG_N_THREADS": "2", "RAG_SEED": "0", "RAG_TEMPERATURE": "0"}, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)["summary"]
    print(
        f"{name}: "
        + json.dumps({k: summary[k] for k in [*spec["min"], *spec["max"], "mode_share", "total_s_p50"]})
    )
    failed = failures(summary, spec)
    assert not failed, f"{name}: " + "; ".join(failed)
    rows = [json.loads(x) for x in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert all(r["scored"] or r["kind"] == "summary" for r in rows)
