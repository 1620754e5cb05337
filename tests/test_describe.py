"""Who someone is, read from the description a sentence attaches to the name (invented examples)."""

from __future__ import annotations

import pytest

from rag import describe
from rag.analyse import analyse
from tests.test_query import ev


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("Who is Ines Varga?", "Ines Varga"),
        ("What is Tom Hale's job?", "Tom Hale"),
        ("Who is the mayor of Brno?", None),  # a name is asked for, not a description
        ("Who is the Brno Harbour Master?", None),  # a title in capitals is still a title
        ("Who praised the deal?", None),
    ],
)
def test_the_name_a_question_asks_to_describe(question, name):
    assert analyse(question).describes == name


@pytest.mark.parametrize(
    ("sentence", "answer"),
    [
        ("Brno harbour master Tom Hale closed the port on Friday.", "Tom Hale is a Brno harbour master."),
        ("Tom Hale, the mayor of Brno, opened two shelters.", "Tom Hale is the mayor of Brno."),
        ("The mayor's adviser, Tom Hale, said the port would reopen.", "Tom Hale is the mayor's adviser."),
        ("Tom Hale is a retired judge from Brno.", "Tom Hale is a retired judge from Brno."),
    ],
)
def test_a_title_an_apposition_or_a_copula_describes_the_name(sentence, answer):
    found = describe.describe("Tom Hale", [ev(sentence)])
    assert found is not None and describe.statement(found) == answer


def test_another_person_of_the_same_surname_is_not_described_and_nothing_is_invented():
    assert describe.describe("Tom Hale", [ev("Ines Hale, the mayor of Brno, opened two shelters.")]) is None
    assert describe.describe("Tom Hale", [ev("Tom Hale opened two shelters in Brno.")]) is None


def test_a_fuller_description_in_the_next_sentences_is_preferred():
    evidence = [
        ev("Secretary Hale spoke first.", 0),
        ev("The talks were opened by Brno Secretary of Transport Tom Hale.", 1),
    ]
    found = describe.describe("Tom Hale", evidence)
    assert found is not None and found.text == "Brno Secretary of Transport" and found.evidence == 1
