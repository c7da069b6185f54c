"""Shaping the interviewer's reply: one question, then stop (DOMAIN.md §3).

The prompts ask for a short message that ends with one question; small models often go on after it
(a second question, a story of their own, the participant's next line). These cheap, deterministic rules
keep what the participant should read: the reply up to the end of its first question, never cut
mid-sentence. They run on the text as it streams (:class:`interviews.flow.ReplyStream`), so the
participant never sees what is cut.

- :func:`reply_cut`: where a reply that asked its question *and went on* should end: just after the first
  ``?`` that ends a sentence (a closing quote or bracket kept), or before a line where the model starts to
  write another speaker's turn (``User:``, ``Participant:``...). A ``?`` in the first :data:`MIN_LEAD`
  characters ("Why? Because ...") or inside a sentence ("was it 'fair?' she asked") is not an end.
- :func:`trim_to_sentence`: a reply the token limit cut mid-sentence loses its unfinished last sentence.
- :func:`brief_end`: a small model's reply shows whole sentences up to a number of words (its monologue
  is dropped; the reply then ends with its stage's question, see :class:`interviews.flow.ReplyStream`).
- :func:`ends_with_question`: whether the reply asks something at its end.

>>> text = "That sounds hard. What did you notice first? I once had a friend who..."
>>> text[: reply_cut(text)]
'That sounds hard. What did you notice first?'
>>> reply_cut("You said it was “fair?” she asked, and then?") is None
True
>>> trim_to_sentence("Thank you for sharing. It seems that honesty and mer")
'Thank you for sharing.'
"""

from __future__ import annotations

import re

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
    """The first ``?`` from ``start`` (at or after :data:`MIN_LEAD`) that may end a sentence, as
    ``(end, went_on)``: ``end`` just after it (closers included), ``went_on`` when a new sentence or line
    follows it (``False``: nothing but spaces follow yet). ``None`` when there is no such ``?``.

    >>> question_end("And what did you do? Then")
    (20, True)
    >>> question_end("And what did you do?  ")
    (20, False)
    >>> question_end("Why? No.") is None
    True
    """
    position = max(start, MIN_LEAD)
    while True:
        at = text.find("?", position)
        if at < 0:
            return None
        end = _end_of_mark(text, at)
        rest = text[end:]
        stripped = rest.lstrip()
        if not stripped:
            return end, False
        gap = rest[: len(rest) - len(stripped)]
        if gap and ("\n" in gap or not stripped[0].islower()):
            return end, True
        position = end


def reply_cut(text: str) -> int | None:
    """Where to end a reply that asked its question and went on (or began another speaker's turn);
    ``None`` when it should be kept whole (so far).

    >>> reply_cut("What did you feel then? And what did you do next?")
    23
    >>> text = "Thank you.\\nUser: I think"
    >>> text[: reply_cut(text)]
    'Thank you.'
    >>> reply_cut("What did you feel then?") is None
    True
    """
    speaker = _SPEAKER.search(text)
    limit = speaker.start() if speaker else len(text)
    found = question_end(text[:limit])
    if found is not None and found[1]:
        return found[0]
    if speaker is not None and text[: speaker.start()].strip():
        return speaker.start()
    return None


def shape_reply(text: str) -> str:
    """``text`` up to :func:`reply_cut`, stripped.

    >>> shape_reply("  What mattered most to you? Another question?  ")
    'What mattered most to you?'
    """
    cut = reply_cut(text)
    return (text if cut is None else text[:cut]).strip()


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
    """How many questions ``text`` asks: its ``?`` that end a sentence (``??`` counts once), at any place.

    >>> count_questions("Why? What did you notice? Was it “fair?” she asked?"), count_questions("None.")
    (3, 0)
    """
    count, position = 0, 0
    while (at := text.find("?", position)) >= 0:
        end = _end_of_mark(text, at)
        stripped = text[end:].lstrip()
        gap = len(text) - end - len(stripped)
        if not stripped or (gap and not stripped[0].islower()) or "\n" in text[end : end + gap]:
            count += 1
        position = end
    return count
