"""When a question asks about: "this week", "on Tuesday", "last month" resolved against an as-of date.

News questions are about time, and a folder of news holds the same recurring story in many weeks.
spaCy's DATE entities find the expression (the same parse as the rest of question analysis);
`dateutil` does the calendar arithmetic; `dateparser` reads the date after "since"/"until". Only
expressions relative to the as-of date become windows: an explicit year or date ("the 2022 final")
stays a constraint of the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from rag import text as t
from rag.nlp import lexicon

WEEKDAYS = {name: number for number, name in enumerate(lexicon()["weekdays"])}
MONTHS = {name: number for number, name in enumerate(lexicon()["months"], 1)}
SOFT_WORDS = ("recently", "recent", "lately", "ago")  # "a few days ago": a soft window, not a date
TIME_PREPOSITIONS = ("in", "on", "during", "throughout", "by")
SOFT_DAYS = 28  # "recently": the last four weeks
LEADING = re.compile(r"^((on|in|during|the|over|of|earlier|early|late)\s+)+")


@dataclass(frozen=True)
class TimeWindow:
    """Dates an answer's articles must fall in; ``soft`` windows only prefer them."""

    since: date | None
    until: date | None
    phrase: str  # the question's own words ("this week")
    soft: bool = False

    def to_json(self) -> dict[str, str | bool | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "from": self.phrase,
            "soft": self.soft,
        }

    def holds(self, iso: str | None) -> bool:
        """Is an article of this date inside? An undated article never is."""
        if not iso:
            return False
        day = date.fromisoformat(iso[:10])
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def describe(self) -> str:
        if self.since and self.until:
            span = self.since.isoformat() if self.since == self.until else f"{self.since} to {self.until}"
        elif self.since:
            span = f"since {self.since}"
        else:
            span = f"until {self.until}"
        return f'"{self.phrase}" ({span})'


def _latest_weekday(as_of: date, weekday: int) -> date:
    return as_of - timedelta(days=(as_of.weekday() - weekday) % 7)


def _window(phrase: str, as_of: date, dated: Sequence[str] = ()) -> tuple[date | None, date | None] | None:
    """The dates one relative expression covers; None when it is not one of ours."""
    words = LEADING.sub("", phrase.lower().strip(" .,?")).split()
    text = " ".join(words)
    monday = as_of - timedelta(days=as_of.weekday())
    first = as_of.replace(day=1)
    fixed = {
        "today": (as_of, as_of),
        "tonight": (as_of, as_of),
        "yesterday": (as_of - timedelta(days=1), as_of),  # next-day reports count
        "this week": (monday, as_of),
        "this past week": (as_of - timedelta(days=6), as_of),
        "past week": (as_of - timedelta(days=6), as_of),
        "last week": (monday - timedelta(days=7), monday - timedelta(days=1)),
        "this weekend": (_latest_weekday(as_of, 5), as_of),
        "last weekend": (_latest_weekday(as_of, 5), as_of),
        "this month": (first, as_of),
        "last month": (first - relativedelta(months=1), first - timedelta(days=1)),
        "this year": (as_of.replace(month=1, day=1), as_of),
        "last year": (date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)),
    }
    if text in fixed:
        return fixed[text]
    qualified = len(words) == 1 or words[0] in ("last", "this", "past")
    if len(words) <= 2 and words[-1] in WEEKDAYS and qualified:
        return _latest_weekday(as_of, WEEKDAYS[words[-1]]), as_of
    if len(words) == 1 and words[0] in MONTHS:
        month = MONTHS[words[0]]
        year = as_of.year if month <= as_of.month else as_of.year - 1
        covered = [int(d[:4]) for d in dated if int(d[5:7]) == month and d <= as_of.isoformat()]
        year = max(covered) if covered else year  # the latest March the library reports on
        start = date(year, month, 1)
        return start, min(as_of, start + relativedelta(months=1) - timedelta(days=1))
    return None


def _qualified(text: str) -> bool:
    """ "this week", "last Sunday", "yesterday" name a time on their own; a bare "March" or "Tuesday"
    does only after a preposition ("in March", "on Tuesday"), not as a modifier ("the March call")."""
    words = LEADING.sub("", text.lower().strip(" .,?")).split()
    return not (len(words) == 1 and (words[0] in MONTHS or words[0] in WEEKDAYS))


def _bound(text: str, as_of: date) -> date | None:
    import dateparser

    parsed = dateparser.parse(
        text, languages=["en"], settings={"RELATIVE_BASE": _midnight(as_of), "PREFER_DATES_FROM": "past"}
    )
    return parsed.date() if parsed else None


def _midnight(day: date):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(day.year, day.month, day.day)


def bound(value: str | None, as_of: date, end: bool) -> str | None:
    """A `--since`/`--until` value as an ISO date: ISO as given, else a phrase ("last week") read
    against the as-of date; its first day for `--since`, its last for `--until`."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        pass
    window = _window(value, as_of)
    day = (window[1] if end else window[0]) if window else _bound(value, as_of)
    if day is None:
        from index.errors import UserError

        raise UserError(f"cannot read the date {value!r}", "use YYYY-MM-DD or a phrase such as 'last week'")
    return day.isoformat()


def resolve(question: str, as_of: date, dated: Sequence[str] = ()) -> TimeWindow | None:
    """The window a question's relative time expression names, if it names one. `dated` (the
    library's article dates) picks the year of a bare month: "in March" is the latest March the
    articles cover, else the latest March before the as-of date."""
    from rag.nlp import parse

    doc = parse(question)
    for ent in doc.ents:
        if ent.label_ not in ("DATE", "TIME") or t.YEAR.search(ent.text):
            continue
        before = doc[ent.start - 1].lower_ if ent.start > 0 else ""
        if before == "since":
            start = _window(ent.text, as_of)
            since = start[0] if start else _bound(ent.text, as_of)
            if since:
                return TimeWindow(since, as_of, f"{before} {ent.text}")
        if before in ("until", "till"):
            end = _window(ent.text, as_of)
            until = end[1] if end else _bound(ent.text, as_of)
            if until:
                return TimeWindow(None, until, f"{before} {ent.text}")
        window = _window(ent.text, as_of, dated)
        if window and (_qualified(ent.text) or before in TIME_PREPOSITIONS):
            return TimeWindow(window[0], window[1], ent.text)
    soft = next((tok for tok in doc if tok.lower_ in SOFT_WORDS), None)
    if soft is not None:
        return TimeWindow(as_of - timedelta(days=SOFT_DAYS), as_of, soft.text, soft=True)
    return None
