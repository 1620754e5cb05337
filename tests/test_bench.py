"""`rag bench --contended --json` runs end to end and reports the fixed keys with plausible values."""

from __future__ import annotations

import json

from tests.helpers import rag


def test_bench_reports_the_fixed_keys():
    result = rag("bench", "--repeats", "1", "--contended", "--json", timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    for area, key in [
        ("generation", "ratio_vs_bare"),
        ("generation", "tokens_per_s"),
        ("embedding", "tokens_per_s"),
        ("ask", "p50_s"),
        ("retrieval", "p50_ms"),
        ("ingest", "chunks_per_s"),
        ("ingest", "files_per_s"),
        ("ask", "cold_ask_s"),
        ("ask", "resident_ask_s"),
        ("summary", "seconds"),
    ]:
        assert isinstance(data[area][key], int | float) and data[area][key] > 0, (area, key)
    settings = data["settings"]
    assert settings["identical"] and settings["ours"] == settings["bare"], "both loops run the same context"
    assert settings["ours"]["n_threads"] >= 1 and "flash_attn_type" in settings["ours"]
    # Idle and contended side by side: the busy loops were started and are gone again.
    contended = data["contended"]
    assert contended["competing_processes"] >= 1
    for key in ("ask_p50_s", "ingest_files_per_s", "summary_s", "cold_ask_s"):
        idle, busy = contended[f"{key} idle"], contended[f"{key} contended"]
        assert idle > 0 and busy > 0 and contended[f"{key} ratio"] == round(busy / idle, 2)
    assert data["ask"]["cold_ask_s"] > data["load"]["chat_s"]  # a new process loads its model itself
    assert data["ask"]["resident_ask_s"] < data["ask"]["cold_ask_s"]  # a resident one has them loaded
