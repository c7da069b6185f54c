"""The transcript grader (DOMAIN.md §4): an interview graded A-F on each criterion of the field's rubric.

MAI ran such a grader over new interviews every hour to watch the interviewer's quality. The rubric: a
meaningful personal story, no leading the witness, one question at a time, one source of meaning
throughout, really a source of meaning, coherent policies, a clear card; plus an overall grade.

>>> [label for _, label in CRITERIA][:3]
['personal story', 'no leading the witness', 'one question at a time']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from interviews.articulate import render_transcript
from interviews.calls import structured_call
from interviews.card_text import CardLike, card_data
from interviews.flow import Turn
from interviews.prompting import as_data, load_prompt

PURPOSE = "grader"
Grade = Literal["A", "B", "C", "D", "F"]

#: ``(field, label)`` of each criterion, in the rubric's order (``overall`` comes last, separately).
CRITERIA: tuple[tuple[str, str], ...] = (
    ("personal_story", "personal story"),
    ("no_leading", "no leading the witness"),
    ("one_question", "one question at a time"),
    ("one_value", "one source of meaning throughout"),
    ("source_of_meaning", "really a source of meaning"),
    ("coherent_policies", "policies coherent"),
    ("clarity", "clear"),
)


class CriterionGrade(BaseModel):
    grade: Grade = Field(description="A (excellent), B, C, D or F (failed)")
    reason: str = Field(default="", max_length=300, description="one sentence pointing at the interview")


class TranscriptGrades(BaseModel):
    """One grade and reason per criterion, and an overall grade (bounded: short reasons only)."""

    personal_story: CriterionGrade
    no_leading: CriterionGrade
    one_question: CriterionGrade
    one_value: CriterionGrade
    source_of_meaning: CriterionGrade
    coherent_policies: CriterionGrade
    clarity: CriterionGrade
    overall: CriterionGrade

    def rows(self) -> list[tuple[str, str, str]]:
        """``(label, grade, reason)`` per criterion, then ``("overall", ...)``: for a table or the CLI."""
        rows: list[tuple[str, str, str]] = []
        for name, label in CRITERIA:
            grade: CriterionGrade = getattr(self, name)
            rows.append((label, grade.grade, grade.reason))
        rows.append(("overall", self.overall.grade, self.overall.reason))
        return rows


def grader_prompt(*, question: str, transcript: Sequence[Turn], card: CardLike | None = None) -> str:
    """The rendered ``transcript_grader`` prompt: the conversation and the card as delimited data."""
    card_part = card_data("values_card", card) if card is not None else as_data("values_card", "(no card)")
    return load_prompt("transcript_grader").render(
        question=as_data("question", question), transcript=render_transcript(transcript), card=card_part
    )


def grade_transcript(
    model: BaseChatModel,
    *,
    question: str,
    transcript: Sequence[Turn],
    card: CardLike | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> TranscriptGrades:
    """Grade one interview; ``card`` is the card it produced, if any (two criteria are about the card).

    Raises ``ValueError`` for an empty transcript; model errors propagate.
    """
    if not transcript:
        raise ValueError("an empty interview cannot be graded")
    prompt = grader_prompt(question=question, transcript=transcript, card=card)
    return structured_call(model, TranscriptGrades, prompt, purpose=PURPOSE, metadata=metadata)
