"""The facilitator's monitor, as arithmetic over rows: the funnel of a deliberation's participants, the
median time of each step, model usage and its estimated cost, and the exit survey beside the published
study's figures (DOMAIN.md §3). Pure: :mod:`services.facilitator.monitor` reads the rows and calls these.

A visitor is anyone who opened a link (a participant row); only one who consented is a participant.

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2025, 1, 1, tzinfo=UTC)
>>> j = Journey(1, visited_at=t, consented_at=t + timedelta(seconds=30))
>>> [(s.step, s.reached) for s in funnel([j, Journey(2, visited_at=t)])][:3]
[('visited', 2), ('consented', 1), ('interviewed', 0)]
>>> step_times([j])[0].median_s
30.0
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# --- the funnel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Journey:
    """One visitor's way through a deliberation, as the stored times tell it (None: not there yet)."""

    participant_id: int
    visited_at: datetime
    consented_at: datetime | None = None
    skipped: tuple[str, ...] = ()  # the steps passed with nothing to do: "vote", "judge"
    interview_started_at: datetime | None = None  # the first interview opened
    first_message_at: datetime | None = None  # the participant's first message in an interview
    card_submitted_at: datetime | None = None  # the first card submitted
    first_shown_at: datetime | None = None  # the first values shown to vote on
    votes: int = 0
    last_vote_at: datetime | None = None
    judgements: int = 0
    last_judged_at: datetime | None = None
    surveyed: bool = False  # answered the exit survey (or passed it: stage ``done``)
    last_survey_at: datetime | None = None


@dataclass(frozen=True)
class FunnelStep:
    step: str
    reached: int  # visitors who did the step
    skipped: int = 0  # visitors who passed it with nothing to do (vote, judge)


#: The funnel's steps in order, each with what counts as having done it.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("visited", "opened an invite or the open link (not a participant until they consent)"),
    ("consented", "agreed to the consent text"),
    ("interviewed", "wrote at least one message to the interviewer"),
    ("card submitted", "submitted a values card"),
    ("voted", "selected at least one value as wise (skipped: nothing to vote on)"),
    ("judged", "judged at least one upgrade story (skipped: nothing to judge)"),
    ("surveyed", "answered the exit survey"),
)


def funnel(journeys: Iterable[Journey]) -> list[FunnelStep]:
    """How many visitors reached each step of :data:`FUNNEL_STEPS` (and skipped vote or judge)."""
    people = list(journeys)

    def count(test: Any) -> int:
        return sum(1 for j in people if test(j))

    return [
        FunnelStep("visited", len(people)),
        FunnelStep("consented", count(lambda j: j.consented_at is not None)),
        FunnelStep("interviewed", count(lambda j: j.first_message_at is not None)),
        FunnelStep("card submitted", count(lambda j: j.card_submitted_at is not None)),
        FunnelStep(
            "voted", count(lambda j: j.votes > 0), count(lambda j: not j.votes and "vote" in j.skipped)
        ),
        FunnelStep(
            "judged",
            count(lambda j: j.judgements > 0),
            count(lambda j: not j.judgements and "judge" in j.skipped),
        ),
        FunnelStep("surveyed", count(lambda j: j.surveyed)),
    ]


# --- time per step ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepTime:
    step: str
    measured: str  # from what to what, in words
    median_s: float | None  # None: nobody has both ends yet
    people: int  # how many durations the median is of


def median(values: Iterable[float]) -> float | None:
    """The median, or None of nothing.

    >>> median([3, 1, 2]), median([1, 2, 3, 10]), median([])
    (2, 2.5, None)
    """
    listed = list(values)
    return statistics.median(listed) if listed else None


def _latest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return max(present) if present else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


#: Each step's start and end (the judge and survey pages store no "opened" time: they start where the
#: step before them ended).
_TIMED: tuple[tuple[str, str, Any], ...] = (
    ("consent", "first visit → consent", lambda j: (j.visited_at, j.consented_at)),
    (
        "interview and card",
        "first interview opened → first card submitted",
        lambda j: (j.interview_started_at, j.card_submitted_at),
    ),
    ("vote", "first values shown → last vote", lambda j: (j.first_shown_at, j.last_vote_at)),
    (
        "judge",
        "card submitted or last vote, whichever is later → last judgement",
        lambda j: (_latest(j.card_submitted_at, j.last_vote_at), j.last_judged_at),
    ),
    (
        "survey",
        "card, last vote or last judgement, whichever is latest → last survey answer",
        lambda j: (_latest(j.card_submitted_at, j.last_vote_at, j.last_judged_at), j.last_survey_at),
    ),
    ("whole visit", "first visit → last survey answer", lambda j: (j.visited_at, j.last_survey_at)),
)


def step_times(journeys: Iterable[Journey]) -> list[StepTime]:
    """The median seconds of each step over the visitors who have both its ends."""
    people = list(journeys)
    result = []
    for step, measured, ends in _TIMED:
        durations = [d for d in (_seconds(*ends(j)) for j in people) if d is not None]
        result.append(StepTime(step, measured, median(durations), len(durations)))
    return result


# --- model usage and cost --------------------------------------------------------------------------

#: The step (or job) each ``LLMCall.purpose`` belongs to; another purpose is shown under its own name.
STEP_OF_PURPOSE: dict[str, str] = {
    "interview": "participant: interview",
    "articulate": "participant: card writing",
    "embedding": "embeddings (vote draws, dedup)",
    "dedup": "job: dedup",
    "contexts": "job: contexts",
    "stories": "job: upgrade stories",
    "story_judge": "job: story judge",
    "grader": "job: transcript grading",
    "seeds": "facilitator: seed values",
    "health_check": "facilitator: model check",
}

Prices = Mapping[str, tuple[float, float]]  # model -> (input, output) price per million tokens


@dataclass(frozen=True)
class CallGroup:
    """Model calls summed by purpose, model and participant (what storage groups them by)."""

    purpose: str
    model: str
    participant_id: int | None
    calls: int
    errors: int
    tokens_in: int
    tokens_out: int


@dataclass
class Usage:
    """Calls, errors, tokens and estimated cost of one step, job or participant."""

    label: str
    calls: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None  # None: no call of it has a price (tokens only)
    unpriced_calls: int = 0  # calls whose model has no price (their cost is not in ``cost``)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def cost_text(self) -> str:
        """The cost in words: an amount, "tokens only", or an amount that leaves some calls out."""
        if self.cost is None:
            return "tokens only"
        amount = f"{self.cost:.4f}"
        return f"{amount} + {self.unpriced_calls} unpriced calls" if self.unpriced_calls else amount

    def add(self, group: CallGroup, prices: Prices) -> None:
        self.calls += group.calls
        self.errors += group.errors
        self.tokens_in += group.tokens_in
        self.tokens_out += group.tokens_out
        price = cost_of(group.model, group.tokens_in, group.tokens_out, prices)
        if price is None:
            self.unpriced_calls += group.calls
        else:
            self.cost = (self.cost or 0.0) + price


def cost_of(model: str, tokens_in: int, tokens_out: int, prices: Prices) -> float | None:
    """The estimated cost of the tokens at ``prices`` (per million), or None when the model has no price.

    >>> cost_of("gpt-4o", 1_000_000, 200_000, {"gpt-4o": (2.5, 10.0)})
    4.5
    >>> cost_of("other", 10, 10, {"gpt-4o": (2.5, 10.0)}) is None
    True
    """
    price = prices.get(model)
    if price is None:
        return None
    return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000


def step_of(purpose: str) -> str:
    """The step or job a call's purpose belongs to.

    >>> step_of("articulate"), step_of("mystery")
    ('participant: card writing', 'other: mystery')
    """
    return STEP_OF_PURPOSE.get(purpose, f"other: {purpose}")


def usage_by_step(groups: Iterable[CallGroup], prices: Prices) -> list[Usage]:
    """Usage per step and job, the most tokens first."""
    by: dict[str, Usage] = {}
    for group in groups:
        label = step_of(group.purpose)
        by.setdefault(label, Usage(label)).add(group, prices)
    return sorted(by.values(), key=lambda u: (-u.tokens, u.label))


@dataclass(frozen=True)
class PerParticipant:
    top: list[Usage]  # the ``top`` participants by tokens, labelled by their id
    participants: int  # participants with at least one call
    median_tokens: float | None
    median_cost: float | None  # None: some participant's calls have no price


def usage_by_participant(groups: Iterable[CallGroup], prices: Prices, *, top: int = 10) -> PerParticipant:
    """Usage of each participant's own calls (calls without a participant are left out): the ``top`` by
    tokens and the medians over everyone with a call."""
    by: dict[int, Usage] = {}
    for group in groups:
        if group.participant_id is not None:
            by.setdefault(group.participant_id, Usage(f"participant {group.participant_id}")).add(
                group, prices
            )
    everyone = sorted(by.values(), key=lambda u: (-u.tokens, u.label))
    priced = all(u.cost is not None and not u.unpriced_calls for u in everyone)
    return PerParticipant(
        top=everyone[:top],
        participants=len(everyone),
        median_tokens=median(u.tokens for u in everyone),
        median_cost=median(u.cost or 0.0 for u in everyone) if everyone and priced else None,
    )


# --- the exit survey beside the published study ----------------------------------------------------


@dataclass(frozen=True)
class Published:
    percent: float
    wording: str


#: The published study's figures (DOMAIN.md §3) by the survey key that asks the same thing.
PUBLISHED: dict[str, Published] = {
    "expressed_care": Published(
        89.1,
        'felt well represented (the paper); 89.0% answered 4-5 on "expressed what I care about" in the '
        "public data",
    ),
    "fair_position": Published(
        89.0,
        "thought the final graph fair even when their value did not win (the paper); 87.8% on "
        '"fair position" in the public data',
    ),
    "clarified": Published(71.0, "said the process clarified their thinking (the paper)"),
    "gained_respect": Published(75.0, "gained respect across the political divide (the paper)"),
}
AGREE = (4, 5)  # the top two boxes of a 1-5 agreement scale


@dataclass(frozen=True)
class SurveyItem:
    key: str
    label: str
    kind: str  # scale | yes_no | text


@dataclass(frozen=True)
class SurveyResult:
    key: str
    label: str
    kind: str
    answered: int
    counts: dict[str, int]  # answer -> how many ("1".."5", "yes"/"no"); empty for text
    agree_percent: float | None  # 4-5 on a scale, "yes" on yes/no; None: no answers or a text item
    published: Published | None


def _answer_label(kind: str, answer: Any) -> str | None:
    if kind == "yes_no":
        return "yes" if answer is True else "no" if answer is False else None
    if kind == "scale" and isinstance(answer, int) and not isinstance(answer, bool) and 1 <= answer <= 5:
        return str(answer)
    return None


def survey_results(items: Sequence[SurveyItem], answers: Iterable[tuple[str, Any]]) -> list[SurveyResult]:
    """Each item's answers counted (text answers only counted, never shown), with the share that agreed.

    >>> [r.agree_percent for r in survey_results([SurveyItem("clarified", "C", "scale")],
    ...                                           [("clarified", 5), ("clarified", 2)])]
    [50.0]
    """
    by_key: dict[str, list[Any]] = defaultdict(list)
    for key, answer in answers:
        by_key[key].append(answer)
    results = []
    for item in items:
        given = [a for a in by_key.get(item.key, []) if a is not None]
        labels = [lab for lab in (_answer_label(item.kind, a) for a in given) if lab is not None]
        order = (
            ["1", "2", "3", "4", "5"]
            if item.kind == "scale"
            else ["yes", "no"]
            if item.kind == "yes_no"
            else []
        )
        tally = Counter(labels)
        counts = {answer: tally[answer] for answer in order}
        agreed = sum(counts[str(a)] for a in AGREE) if item.kind == "scale" else counts.get("yes", 0)
        share = round(100 * agreed / len(labels), 1) if labels and item.kind != "text" else None
        results.append(
            SurveyResult(item.key, item.label, item.kind, len(given), counts, share, PUBLISHED.get(item.key))
        )
    return results
