"""Shaping the interviewer's reply: one question, then stop (DOMAIN.md §3).

The prompts ask for a short message that ends with one question; small models often go on after it
(a second question, a story of their own, the participant's next line). These cheap, deterministic rules
keep what the participant should read, never cut mid-sentence. They run on the text as it streams
(:class:`interviews.flow.ReplyStream`), so the participant never sees what is cut, and what streams is
what is stored. How much they cut depends on the prompt style: a capable model's reply (the full prompts)
is cut only where the model starts to write another speaker's turn; a small model's (the compact prompts)
also ends after its first question.

- :func:`speaker_cut`: before a line where the model starts another speaker's turn (``User:``,
  ``Participant:``...).
- :func:`question_cut`: just after the first ``?`` that ends a sentence *and is followed by more* (a
  closing quote or bracket kept). A ``?`` in the first :data:`MIN_LEAD` characters ("Why? Because ..."),
  inside a sentence ("was it 'fair?' she asked") or inside quotes or brackets (“Should I?”, "(was it the
  first time?)": a quoted or bracketed question is not the reply's question) is not an end.
- :func:`reply_cut`: the small model's cut: :func:`question_cut`, else :func:`speaker_cut`.
- :func:`settled_end`: how much of a reply still streaming is whole sentences that more text cannot change
  (the unfinished tail is held back until the reply ends).
- :func:`trim_to_sentence`: a reply the token limit cut mid-sentence loses its unfinished last sentence.
- :func:`brief_end`: a small model's reply shows whole sentences up to a number of words (its monologue
  is dropped; the reply then ends with its stage's question, see :class:`interviews.flow.ReplyStream`).
- :func:`ends_with_question`: whether the reply asks something at its end.
- :class:`Shaping`: what shaping did to a reply, stored with it (``message.shaping``) next to the model's
  own text (``message.model_text``).

>>> text = "That sounds hard. What did you notice first? I once had a friend who..."
>>> text[: reply_cut(text)]
'That sounds hard. What did you notice first?'
>>> speaker_cut(text) is None  # a capable model's reply is kept whole
True
>>> reply_cut("You said it was “fair?” she asked, and then?") is None
True
>>> trim_to_sentence("Thank you for sharing. It seems that honesty and mer")
'Thank you for sharing.'
"""

from __future__ import annotations

import re
from enum import StrEnum

#: A question mark this early ("Why? ...") is not taken as the end of a reply that goes on after it.
MIN_LEAD = 10
_CLOSERS = "\"'”’»)]*_"
_MARKS = "?!"
#: The model starts writing someone else's turn: cut before it.
_SPEAKER = re.compile(
    r"\n\s*(?:\*\*)?(?:user|participant|person|interviewee|human|you|me|assistant|interviewer|ai)"
    r"(?:\*\*)?\s*:",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?][\"'”’»)\]*_]*(?=\s|$)")
#: Brackets and quotes whose ``?`` is not the reply's question (straight double quotes open and close).
_PAIRS = {"(": ")", "[": "]", "“": "”", "«": "»", '"': '"'}
_CLOSING = frozenset(_PAIRS.values())


class Shaping(StrEnum):
    """What shaping did to a reply (``message.shaping`` holds them; ``message.model_text`` the model's
    own text whenever the participant read something else)."""

    CUT_AT_SPEAKER = "cut_at_speaker"
    """The model started another speaker's turn: shown up to it."""
    CUT_AFTER_QUESTION = "cut_after_question"
    """A small model went on after its first question: shown up to it."""
    KEPT_BRIEF = "kept_brief"
    """A small model's sentences beyond its words (:data:`interviews.flow.BRIEF_WORDS`) were dropped."""
    UNFINISHED_DROPPED = "unfinished_dropped"
    """The token cap cut the reply mid-sentence: its unfinished last sentence was dropped."""
    QUESTION_ADDED = "question_added"
    """The reply asked nothing at its end: its stage's question (the app's words) was added."""
    READY_MESSAGE = "ready_message"
    """The model only signalled it had enough: the app's own message was shown."""


def enclosed_marks(text: str) -> set[int]:
    """The positions of the ``?`` in ``text`` that stand inside quotes or brackets (opened on their line
    and not closed before them).

    >>> sorted(enclosed_marks('He asked "why?" (Was it? No.) Then what?'))
    [13, 23]
    >>> sorted(enclosed_marks('(A "quote? left open) Then?'))
    [9]
    """
    inside: set[int] = set()
    stack: list[str] = []
    for at, char in enumerate(text):
        if char == "\n":
            stack.clear()
        elif char == "?" and stack:
            inside.add(at)
        elif stack and char == _PAIRS[stack[-1]]:
            stack.pop()
        elif char in _PAIRS:
            stack.append(char)
        elif char in _CLOSING and any(_PAIRS[opener] == char for opener in stack):
            while _PAIRS[stack.pop()] != char:  # a bracket closed over a quote left open
                pass
    return inside


def _end_of_mark(text: str, at: int) -> int:
    """The index just after the ``?`` at ``at``, any ``?!`` after it and any closing quotes or brackets.

    >>> _end_of_mark('Was it "fair?!" or', 11)
    15
    """
    end = at + 1
    while end < len(text) and text[end] in _MARKS:
        end += 1
    while end < len(text) and text[end] in _CLOSERS:
        end += 1
    return end


def question_end(text: str, *, start: int = 0) -> tuple[int, bool] | None:
    """The first ``?`` from ``start`` (at or after :data:`MIN_LEAD`, not inside quotes or brackets) that
    may end a sentence, as ``(end, went_on)``: ``end`` just after it (closers included), ``went_on`` when a
    new sentence or line follows it (``False``: nothing but spaces follow yet). ``None`` when there is no
    such ``?``.

    >>> question_end("And what did you do? Then")
    (20, True)
    >>> question_end("And what did you do?  ")
    (20, False)
    >>> question_end("Why? No.") is None, question_end('She asked "Why me?" Then') is None
    (True, True)
    """
    position = max(start, MIN_LEAD)
    enclosed = enclosed_marks(text)
    while True:
        at = text.find("?", position)
        if at < 0:
            return None
        end = _end_of_mark(text, at)
        if at in enclosed:
            position = end
            continue
        rest = text[end:]
        stripped = rest.lstrip()
        if not stripped:
            return end, False
        gap = rest[: len(rest) - len(stripped)]
        if gap and ("\n" in gap or not stripped[0].islower()):
            return end, True
        position = end


def speaker_cut(text: str) -> int | None:
    """Where a reply ends because the model starts another speaker's turn (``None``: it does not, or
    nothing comes before that turn).

    >>> text = "Thank you.\\nUser: I think"
    >>> text[: speaker_cut(text)]
    'Thank you.'
    >>> speaker_cut("What did you feel then? And what did you do next?") is None
    True
    """
    speaker = _SPEAKER.search(text)
    if speaker is not None and text[: speaker.start()].strip():
        return speaker.start()
    return None


def question_cut(text: str) -> int | None:
    """Where a reply that asked its question and went on ends: just after that question (before any
    other speaker's turn); ``None`` when it did not go on (so far).

    >>> question_cut("What did you feel then? And what did you do next?")
    23
    >>> question_cut("What did you feel then?") is None
    True
    >>> question_cut("Thanks. (Was that the first time? Just curious.) What did you feel then? Ok")
    72
    """
    speaker = _SPEAKER.search(text)
    found = question_end(text[: speaker.start()] if speaker else text)
    return found[0] if found is not None and found[1] else None


def reply_cut(text: str) -> int | None:
    """Where to end a small model's reply that asked its question and went on (:func:`question_cut`) or
    began another speaker's turn (:func:`speaker_cut`); ``None`` when it should be kept whole (so far).

    >>> reply_cut("What did you feel then? And what did you do next?")
    23
    >>> text = "Thank you.\\nUser: I think"
    >>> text[: reply_cut(text)]
    'Thank you.'
    >>> reply_cut("What did you feel then?") is None
    True
    """
    cut = question_cut(text)
    return cut if cut is not None else speaker_cut(text)


def shape_reply(text: str) -> str:
    """``text`` up to :func:`reply_cut`, stripped.

    >>> shape_reply("  What mattered most to you? Another question?  ")
    'What mattered most to you?'
    """
    cut = reply_cut(text)
    return (text if cut is None else text[:cut]).strip()


#: A last line this short may still become another speaker's cue (``**Interviewee**:``): it waits.
CUE_CHARS = 20


def cue_free_end(text: str) -> int:
    """How much of ``text``, still streaming, can no longer become another speaker's turn: all of it but a
    last line too short to tell (under :data:`CUE_CHARS` characters and no ``:`` yet).

    >>> cue_free_end("Thank you. What did")
    19
    >>> text = "Thank you.\\nUs"
    >>> text[: cue_free_end(text)]
    'Thank you.'
    >>> text = "Thank you.\\nUsually I think it is fine"
    >>> cue_free_end(text) == len(text)
    True
    """
    line = text.rfind("\n")
    tail = text[line + 1 :]
    if line < 0 or ":" in tail or len(tail) >= CUE_CHARS:
        return len(text)
    return line


def settled_end(text: str) -> int:
    """How much of ``text``, still streaming, is whole sentences that more text cannot change: up to its
    last sentence end (at or after :data:`MIN_LEAD`) that something already follows; 0 when none.

    >>> text = "I see. That is hard. What did you"
    >>> text[: settled_end(text)], settled_end("That is hard."), settled_end("Ok. Fine")
    ('I see. That is hard.', 0, 0)
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if MIN_LEAD <= m.end() < len(text)]
    return ends[-1] if ends else 0


def trim_to_sentence(text: str) -> str:
    """``text`` without an unfinished last sentence (what a reply cut by the token limit ends with); kept
    whole when it has no earlier sentence end after :data:`MIN_LEAD` characters.

    >>> trim_to_sentence("Short one")
    'Short one'
    >>> trim_to_sentence("What did you notice? I think that the")
    'What did you notice?'
    """
    stripped = text.rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(stripped) if m.end() >= MIN_LEAD]
    if not ends or ends[-1] == len(stripped):
        return stripped
    return stripped[: ends[-1]]


def brief_end(text: str, max_words: int, *, final: bool) -> tuple[int, bool]:
    """How much of ``text`` a brief reply shows: whole sentences while they stay within ``max_words``
    words, as ``(end, exhausted)``; ``exhausted`` once the next sentence would go over (nothing more is
    shown then). An unfinished last sentence counts only when ``final`` (the model ended its reply).

    >>> text = "I hear you. That sounds hard. My own father was a sailor who"
    >>> brief_end(text, 8, final=False), brief_end(text, 40, final=False), brief_end(text, 40, final=True)
    ((29, True), (29, False), (60, False))
    >>> brief_end("One very long first sentence that goes on and on.", 5, final=True)
    (0, True)
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if final or m.end() < len(text)]
    shown = 0
    for end in ends:
        if len(text[:end].split()) > max_words:
            return shown, True
        shown = end
    if len(text.split()) > max_words:
        return shown, True
    return (len(text) if final else shown), False


def ends_with_question(text: str) -> bool:
    """Whether ``text`` ends with a question mark (closing quotes, brackets and spaces aside).

    >>> ends_with_question("What did you notice?”  "), ends_with_question("I see."), ends_with_question("")
    (True, False, False)
    """
    return text.rstrip().rstrip(_CLOSERS).rstrip().endswith("?")


def count_questions(text: str) -> int:
    """How many questions ``text`` asks: its ``?`` that end a sentence (``??`` counts once), at any place,
    but not inside quotes or brackets.

    >>> count_questions("Why? What did you notice? Was it “fair?” she asked?"), count_questions("None.")
    (3, 0)
    >>> count_questions('You asked yourself, "Should I tell her?" What did you decide?')
    1
    """
    count, position = 0, 0
    enclosed = enclosed_marks(text)
    while (at := text.find("?", position)) >= 0:
        end = _end_of_mark(text, at)
        if at in enclosed:
            position = end
            continue
        stripped = text[end:].lstrip()
        gap = len(text) - end - len(stripped)
        if not stripped or (gap and not stripped[0].islower()) or "\n" in text[end : end + gap]:
            count += 1
        position = end
    return count
