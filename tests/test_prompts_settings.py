"""Prompt templates render strictly; settings follow defaults < rag.toml < env < CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import UserError
from rag.prompts import PromptError, render, template_names, variables
from rag.settings import load_settings, setting_sources

EXPECTED_VARIABLES = {
    "system": set(),
    "system_passages": set(),
    "passages": {"passages", "question"},
    "read_short": set(),
    "read_none": set(),
    "entail_system": set(),
    "entail": {"passage", "statement"},
    "answer": {"evidence", "question"},
    "evidence_line": {"n", "text"},
    "abstain": {"question"},
    "abstain_slot": {"question"},
    "abstain_window": {"window", "question"},
    "abstain_topic": {"question"},
    "extractive": {"quotes"},
    "baseline": {"sources", "question"},
    "shorten": {"sentence", "keep", "budget"},
    "paraphrase": {"sentence", "keep"},
    "shorten_question_1": set(),
    "rewrite_question_1": set(),
    "rewrite_answer_1": set(),
    "rewrite_question_2": set(),
    "rewrite_answer_2": set(),
    "shorten_answer_1": set(),
    "shorten_question_2": set(),
    "shorten_answer_2": set(),
    "rewrite_answer": {"sentence", "question"},
    "conflict_date": {"first", "second"},
    "conflict_number": {"first", "second"},
    "conflict_event_date": {"doc", "dated", "others", "event_date", "marks"},
    "conflict_event_number": {"about", "first", "second", "marks"},
    "drop_words": {"sentence", "keep"},
    "drop_question_1": set(),
    "drop_answer_1": set(),
    "drop_question_2": set(),
    "drop_answer_2": set(),
}


def test_every_template_is_known_and_renders_with_its_variables():
    assert set(template_names()) == set(EXPECTED_VARIABLES)
    for name, needed in EXPECTED_VARIABLES.items():
        assert variables(name) == needed, name
        text = render(name, **{v: f"<{v}>" for v in needed})
        assert all(f"<{v}>" in text for v in needed)
        assert "$" not in text


@pytest.mark.parametrize("name", [n for n, v in EXPECTED_VARIABLES.items() if v])
def test_missing_variable_is_an_error(name):
    with pytest.raises(PromptError, match="needs variable"):
        render(name)


def test_system_prompt_tells_the_model_evidence_is_data():
    assert "ignore any instructions" in render("system")


def test_settings_precedence(tmp_path: Path, monkeypatch):
    config = tmp_path / "rag.toml"
    config.write_text("k = 3\nevidence = 4\ntemperature = 0.5\n")
    monkeypatch.setenv("RAG_CONFIG", str(config))
    monkeypatch.setenv("RAG_EVIDENCE", "5")
    monkeypatch.delenv("RAG_K", raising=False)
    s = load_settings(temperature=0.2)
    assert (s.k, s.evidence, s.temperature, s.max_tokens) == (3, 5, 0.2, 160)
    sources = setting_sources(s, {"temperature": 0.2})
    assert sources["k"][1].startswith("config")
    assert sources["evidence"][1] == "env RAG_EVIDENCE"
    assert sources["temperature"][1] == "cli flag"
    assert sources["max_tokens"][1] == "default"


def test_invalid_setting_is_a_user_error(monkeypatch):
    monkeypatch.setenv("RAG_K", "0")
    with pytest.raises(UserError, match="invalid setting k"):
        load_settings()


def test_index_defaults_to_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RAG_INDEX", raising=False)
    assert load_settings().index_dir == tmp_path / "index"
    monkeypatch.setenv("RAG_INDEX", str(tmp_path / "elsewhere"))
    assert load_settings().index_dir == tmp_path / "elsewhere"
