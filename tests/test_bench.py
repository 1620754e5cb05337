"""`rag bench --json` runs end to end and reports the fixed keys with plausible values."""

from __future__ import annotations

import json

from tests.helpers import rag


def test_bench_reports_the_fixed_keys():
    result = rag("bench", "--repeats", "1", "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    for area, key in [
        ("generation", "ratio_vs_bare"),
        ("generation", "tokens_per_s"),
        ("embedding", "tokens_per_s"),
        ("ask", "p50_s"),
        ("retrieval", "p50_ms"),
        ("ingest", "chunks_per_s"),
    ]:
        assert isinstance(data[area][key], int | float) and data[area][key] > 0, (area, key)
    settings = data["settings"]
    assert settings["identical"] and settings["ours"] == settings["bare"], "both loops run the same context"
    assert settings["ours"]["n_threads"] >= 1 and "flash_attn_type" in settings["ours"]
