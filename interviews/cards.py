"""The values card: its bounded output schema and the linter that checks the field's rules (DOMAIN.md §4).

:class:`CardDraft` is what the model fills in through structured output. Its bounds are deliberately a
little looser than the rules, so a card that breaks a rule still parses and :func:`lint_card` can say
exactly what to repair; the hard bounds only stop runaway output.

>>> card = CardDraft(
...     title="Faith in People",
...     description="Trusting people to find their own way through hard choices.",
...     policies=["CHANGES in people when entrusted with self-determination",
...               "INSIGHTS from grappling with morally fraught questions"])
>>> lint_card(card)
[]
>>> [p.code for p in lint_card(card.model_copy(update={"title": "Deep", "policies": ["be kind"]}))]
['title_words', 'banned_word', 'too_few_policies', 'policy_caps']
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field

TITLE_WORDS = (2, 5)
POLICIES = (2, 10)
MAX_DESCRIPTION = 300
MAX_POLICY = 200
#: Words the field's rules ban from cards (they say nothing about what to attend to).
BANNED_WORDS = ("meaningful", "meaningfully", "deep", "deeply", "deeper", "profound", "profoundly")
#: Nouns with no plural that still name a kind of thing to attend to.
MASS_NOUNS = frozenset(
    "WISDOM RESPECT UNDERSTANDING CLARITY EVIDENCE EMPATHY SUPPORT GROWTH BALANCE PATIENCE HONESTY TRUST "
    "CARE COURAGE KNOWLEDGE INTEGRITY AUTONOMY FREEDOM DIGNITY JUSTICE SAFETY HUMILITY CURIOSITY "
    "COMPASSION KINDNESS BEAUTY GOODNESS WONDER AGENCY HOPE GRIEF JOY LOVE TRUTH NUANCE".split()
)
#: Plurals that do not end in S.
IRREGULAR_PLURALS = frozenset(
    "PEOPLE CHILDREN MEN WOMEN DATA CRITERIA PHENOMENA MEDIA FEET TEETH GEESE MICE OXEN ALUMNI CACTI "
    "NUCLEI STIMULI FUNGI STRATA BACTERIA CURRICULA INDICES APPENDICES THESES CRISES ANALYSES".split()
)
_COUNT = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
#: The instructions' own words (the card prompts, ``interviews/prompts/articulate_card*.md`` and
#: ``repair_card*.md``: their field descriptions, rules and section remarks): a card holding them was copied
#: from the prompt, not written about a value. Only phrases no card about a value would use ("personal
#: details" or "one sentence" can be ordinary); ``tests/interviews/test_cards.py`` reads each prompt's field
#: instructions and checks that every one of them, used as a card field, is refused.
_ECHOES = (
    rf"\b{_COUNT}\s*(?:[-\u2013]|to)\s*{_COUNT}\s+(?:words?|items?|lines?|policies)\b",  # "two to five words"
    r"\bpithy\b",
    r"\bdraft\s+complete\b",
    r"\bplural\s+noun",
    r"\bnouns?\s+in\s+(?:caps|capitals)\b",
    r"\battentional\s+polic",
    r"\bvalues\s*card\b",
    r"\bno\s+names\s+or\s+personal\s+details\b",
    r"\bdata,?\s+not\s+instructions\b",
    r"\binstructions\s+inside\s+it\b",
    r"\bthese\s+instructions\b",
    r"\balso\s+data\b",
    r"\bwords\s+that\s+name\s+the\s+value\b",
    r"\bwhat\s+this\s+way\s+of\s+choosing\b",
    r"\bdescription\s+of\s+one\s+sentence\b",
    r"\bwhat\s+the\s+participant\s+(?:notices|actually\s+said)\b",
    r"\bas\s+the\s+participant\s+asked\b",
    r"\bfollowed\s+by\s+which\s+ones\b",
    r"\bno\s+placeholders?\b",
    r"\bnever\s+fewer\s+than\b",
    r"\bthe\s+chooser['\u2019]?s\s+perspective\b",
    r"\bpositively\s+stated\b",
    r"\boutcomes\s+to\s+check\s+off\b",
    r"\bvalues\s+they\s+did\s+not\s+express\b",
    r"\ban\s+earlier\s+draft\b",
)
PROMPT_ECHOES = re.compile("(?i)" + "|".join(_ECHOES))
_PLACEHOLDERS = re.compile(
    r"(?i)^\s*$|\.\.\.|…|\btodo\b|\btbd\b|lorem ipsum|\bxxx\b|\bn/?a\b|\[[^\]]*\]|<[^>]*>|"
    r"^(policy|item|value|title|description|(an?\s+)?example)\s*\d*\s*$|\bplaceholder\b"
)
_PERSONAL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d\s().-]{7,}\d|https?://|\bmy name is\b", re.I)
_SENTENCE_END = re.compile(r"[.!?](\s+|$)")


class CardDraft(BaseModel):
    """A values card as the model writes it (bounded, so a runaway model cannot flood the screen)."""

    title: str = Field(min_length=1, max_length=80, description="2-5 words, pithy")
    description: str = Field(
        min_length=1, max_length=500, description="one sentence, no names or personal details"
    )
    policies: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        min_length=1,
        max_length=12,
        description="2-10 attentional policies, each opening with a plural noun in CAPS",
    )

    @classmethod
    def of(cls, row: Any) -> CardDraft:
        """A stored card or canonical value (anything with title, description, policies) as a draft.

        Not re-validated: stored rows (imported ones too) need not meet the model-facing bounds, and the
        linter reports what they break.
        """
        return cls.model_construct(title=row.title, description=row.description, policies=list(row.policies))

    def digest(self) -> str:
        """A short hash of the card's content: what the participant saw is what gets submitted.

        >>> CardDraft(title="A b", description="C.", policies=["X"]).digest()
        '99dedb2b5c161fd9'
        """
        text = json.dumps([self.title, self.description, self.policies], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


#: The edit form's names for the card's fields (what :attr:`CardProblem.for_people` says).
_FIELD_NAMES = {"title": "title", "description": "sentence", "policies": "what you pay attention to"}


@dataclass(frozen=True)
class CardProblem:
    """One broken rule: which field (``policies[2]``), a stable code, and a message a person can act on."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    @property
    def for_people(self) -> str:
        """The problem as the card's edit form names its fields.

        >>> str(CardProblem("policies[1]", "policy_caps", "open with a plural noun in CAPS"))
        'policies[1]: open with a plural noun in CAPS'
        >>> CardProblem("policies[1]", "policy_caps", "open with a plural noun in CAPS").for_people
        'line 2 of what you pay attention to: open with a plural noun in CAPS'
        """
        if match := re.fullmatch(r"policies\[(\d+)\]", self.field):
            where = f"line {int(match[1]) + 1} of what you pay attention to"
        else:
            where = _FIELD_NAMES.get(self.field, self.field)
        return f"{where}: {self.message}"


def lint_card(card: CardDraft) -> list[CardProblem]:
    """Every rule of DOMAIN.md §4 the card breaks, in field order (empty when it is fine)."""
    problems: list[CardProblem] = []
    add = problems.append
    title = card.title.strip()
    n_words = len(title.split())
    if not TITLE_WORDS[0] <= n_words <= TITLE_WORDS[1]:
        add(CardProblem("title", "title_words", f"use 2-5 words (this has {n_words})"))
    description = card.description.strip()
    if len(description) > MAX_DESCRIPTION:
        add(CardProblem("description", "too_long", f"keep it under {MAX_DESCRIPTION} characters"))
    if len(_SENTENCE_END.findall(description.rstrip(".!? ") + ".")) > 1:
        add(CardProblem("description", "one_sentence", "write one sentence"))
    if _PERSONAL.search(description):
        add(CardProblem("description", "personal_data", "leave out names, contacts and links"))
    for field, text in [("title", title), ("description", description), *_policy_fields(card)]:
        if _PLACEHOLDERS.search(text):
            add(CardProblem(field, "placeholder", "replace the placeholder with real words"))
        elif PROMPT_ECHOES.search(text):
            add(CardProblem(field, "prompt_echo", "write about the value, not the instructions"))
        banned = sorted({w.lower() for w in re.findall(r"[A-Za-z]+", text)} & set(BANNED_WORDS))
        if banned:
            add(CardProblem(field, "banned_word", f"say what to attend to instead of {', '.join(banned)}"))
    policies = [p.strip() for p in card.policies]
    if not POLICIES[0] <= len(policies) <= POLICIES[1]:
        add(
            CardProblem(
                "policies",
                "too_few_policies" if len(policies) < 2 else "too_many_policies",
                f"give 2-10 things to attend to (this has {len(policies)})",
            )
        )
    seen: set[str] = set()
    for i, policy in enumerate(policies):
        field = f"policies[{i}]"
        key = " ".join(re.findall(r"\w+", policy.lower()))
        if key in seen:
            add(CardProblem(field, "duplicate", "this repeats an earlier item"))
        seen.add(key)
        if len(policy) > MAX_POLICY:
            add(CardProblem(field, "too_long", f"keep it under {MAX_POLICY} characters"))
        first = policy.split()[0] if policy.split() else ""
        word = first.strip(",;:")
        if not (len(word) >= 2 and word.isalpha() and word.isupper()):
            add(CardProblem(field, "policy_caps", "open with a plural noun in CAPS, e.g. MOMENTS where ..."))
        elif not (word.endswith("S") or word in MASS_NOUNS or word in IRREGULAR_PLURALS):
            add(CardProblem(field, "policy_plural", f"open with a plural noun ({word} is not plural)"))
    return list(dict.fromkeys(problems))  # each problem once (a field can break a rule in two ways)


def _policy_fields(card: CardDraft) -> list[tuple[str, str]]:
    return [(f"policies[{i}]", p.strip()) for i, p in enumerate(card.policies)]


def describe_problems(problems: list[CardProblem]) -> str:
    """The problems as a bulleted list (for a repair prompt or a participant's form)."""
    return "\n".join(f"- {p}" for p in problems)
