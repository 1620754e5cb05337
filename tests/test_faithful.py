"""The rewrite checker: who did what stays who did what (invented sentences; spaCy only)."""

from __future__ import annotations

import pytest

from eval.faithfulness import load, score
from rag.faithful import check, clean

SOURCE = "The harbour master thanked the ferry crews for rescuing 14 swimmers on Saturday."


@pytest.mark.parametrize(
    ("rewrite", "reason"),
    [
        ("The ferry crews thanked the harbour master for rescuing 14 swimmers.", "agent"),
        ("The harbour master thanked the ferry crews for rescuing 41 swimmers.", "figure"),
        ("The harbour master thanked the ferry crews, who were praised by Mayor Lin Osei.", "name"),
        ("The harbour master thanked the ferry crews for rescuing 14 swimmers near the old pier.", "added"),
        ("The harbour master did not thank the ferry crews for rescuing 14 swimmers.", "negation"),
        ("The harbour master blamed the ferry crews for the 14 swimmers.", "action"),
    ],
)
def test_an_unfaithful_rewrite_is_caught_with_its_reason(rewrite, reason):
    verdict = check(SOURCE, rewrite)
    assert not verdict.faithful and verdict.reason == reason, verdict


@pytest.mark.parametrize(
    "rewrite",
    [
        "The harbour master thanked ferry crews for rescuing 14 swimmers.",
        "Ferry crews were thanked by the harbour master for rescuing 14 swimmers.",  # passive, same doer
        "Sentence: The harbour master thanked the ferry crews for rescuing 14 swimmers.",
    ],
)
def test_a_shortening_that_keeps_who_did_what_passes(rewrite):
    assert check(SOURCE, rewrite).faithful


def test_a_verbless_rewrite_with_a_figure_is_judged_not_looped_on():
    source = "Thermometers reached 39.4 degrees on Monday."
    assert check(source, "A record: 39.4 degrees on Monday.").faithful
    assert check(source, "A record: 38.4 degrees on Monday.").reason == "figure"


def test_a_label_the_model_puts_first_is_not_part_of_the_sentence():
    assert clean("Rephrased:  The bridge reopened.") == "The bridge reopened."
    assert clean("Okafor said: “We are ready.”") == "“We are ready.”"
    assert clean("The plan: more trams.") == "The plan: more trams."  # no capital after it


def test_the_labelled_pairs_are_what_the_measurement_claims():
    rows = load()
    assert len(rows) >= 60
    assert sum(r["origin"].startswith("model") for r in rows) >= 20
    assert sum(not r["faithful"] for r in rows) * 3 >= len(rows)
    kinds = {r["kind"] for r in rows if not r["faithful"]}
    assert {"wrong_agent", "added_clause", "changed_figure", "dropped_negation"} <= kinds
    assert {r["split"] for r in rows} == {"tune", "test"}


def test_the_checker_is_right_on_nine_in_ten_labelled_pairs_and_catches_the_held_out_unfaithful():
    overall, _ = score(load())
    held_out, _ = score(load("test"))
    assert overall.accuracy >= 0.9, overall
    assert held_out.recall >= 0.9 and held_out.precision >= 0.8, held_out


def test_a_name_cut_to_its_generic_last_word_is_caught_but_a_surname_is_a_name():
    source = "Mayor Ines Varga opened the final at Harbor Crest Stadium in New Jersey on Sunday."
    cut = check(source, "Mayor Ines Varga opened the final at Stadium in New Jersey on Sunday.")
    assert not cut.faithful and cut.reason == "name" and "Harbor Crest" in cut.detail
    assert check(source, "Varga opened the final at Harbor Crest Stadium on Sunday.").faithful
    party = "The Velmar Party won the vote in Ostrava on Monday."
    assert check(party, "The party won the vote on Monday.").reason == "name"


def test_a_models_own_check_is_its_probability_of_yes_against_no():
    import math

    from eval.faithfulness import model_check
    from tests.fakes import ReadingChatModel

    chat = ReadingChatModel({"Yes": -0.1, "No": -2.5})
    p = model_check(chat, "Ines Varga stepped down [3] on Monday.", "Ines Varga quit.")
    assert p == pytest.approx(1 / (1 + math.exp(-2.4)))
    prompt = chat.read[0][-1]["content"]
    assert "Ines Varga stepped down on Monday." in prompt and "[3]" not in prompt  # quoted as data
    assert model_check(ReadingChatModel({"Yes": -4.0, "No": -0.1}), "x", "y") < 0.05


def test_a_missing_model_for_the_model_check_is_one_line_and_a_failing_exit(tmp_path, capsys):
    from eval.faithfulness import main

    assert main(["--model-check", "--model", str(tmp_path / "absent.gguf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: chat model") and "absent.gguf" in err and "Traceback" not in err
