"""Text from people and models written as Markdown that Streamlit shows literally (pure, no Streamlit).

Streamlit renders ``st.markdown``, captions, alerts, titles, expander titles, widget labels and radio
options as GitHub-flavoured Markdown with extras, and several of them work on the *decoded* text, after
escapes are resolved: bare URLs, ``www.`` and e-mail addresses become links, ``:material/x:``,
``:streamlit:`` and emoji shortcodes become icons or images, ``--``, ``->``, ``>=`` become typographic
symbols. Backslash escapes alone therefore do not keep text literal. Here:

- a line that starts with a character that could open a block (a space, ``#``, ``>``, ``-``, a digit, a
  backtick, another line break...) starts with a word joiner (U+2060: invisible, no line break) instead,
  so no line opens a heading, list, quote, table, rule, fence or indented code block, and blank lines and
  leading spaces survive; each line break is a hard break, after a word joiner where the line ends in
  spaces (kept, not read as part of the break);
- a word joiner goes after every ``:`` and ``@``, between ``www`` and ``.``, and inside every
  ``--``/``->``/``<=``-like pair, so no autolink, directive (``:red[...]``), shortcode or symbol forms;
- the inline syntax characters are escaped: ``\\ ` * _ ~ $`` with a backslash (emphasis, code,
  strikethrough, LaTeX), ``[`` ``<`` ``&`` as references (links, images, footnotes, HTML, autolinks,
  entities: the streaming completer that closes an unfinished ``[`` or ``<`` while a reply streams does
  not read references), a carriage return as ``&#13;``;
- NUL becomes U+FFFD (as the CommonMark parser would), and so does a lone surrogate (it cannot travel to
  the browser at all);
- text with bidirectional controls (U+202A-U+202E, U+2066-U+2069) is isolated per line (FSI ... PDI), so
  an override cannot run on into the app's own words after it (``Wise: <title>``).

Everything else, ordinary punctuation included, is left as typed: Streamlit also uses a widget label's
Markdown as its ``aria-label``, which therefore reads as typed for ordinary text. What a person reads (the
DOM's text) is the input with only the invisible characters above added; :func:`read` is the inverse that
tests use. Streamlit's HTML is never enabled for such text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator

WORD_JOINER = "\u2060"
FSI, PDI = "\u2068", "\u2069"
#: The invisible characters this module adds (a reader's text is compared with these removed).
ADDED = frozenset({WORD_JOINER, FSI, PDI})
#: A line break as written: a hard break.
LINE_BREAK = "  \n"

_WRITTEN = str.maketrans(
    {c: "\\" + c for c in "\\`*_~$"}
    | {"[": "&lsqb;", "<": "&lt;", "&": "&amp;", "\r": "&#13;", "\x00": "\ufffd", "\n": LINE_BREAK}
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Places that get a word joiner; each looks at most three characters back and one ahead, so the writing
# of a text is the writing of its first part followed by that of the rest (what streaming relies on):
# the start of a line that could open a block, the end of a line in spaces, after ``:`` and ``@``,
# ``www|.``, and inside ``--``, ``->``, ``<-``, ``>=``, ``<=``, ``~=``.
_BREAKS = re.compile(
    r"(?<![^\n])(?=[\n \t#>+*\-_=~`0-9|])|(?<=[ \t])(?=\n)"
    r"|(?<=[:@])|(?i:(?<=www)(?=\.))|(?<=[-<>~])(?=[-<>=])"
)
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_LOOK_BACK = 3


def _write(text: str) -> str:
    """The body of :func:`markdown` without its end and its bidi isolation (prefix-stable)."""
    if not text:
        return ""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return _BREAKS.sub(WORD_JOINER, text).translate(_WRITTEN)


def _end(text: str) -> str:
    """A word joiner after trailing spaces or a last line break, which Markdown would otherwise drop."""
    return WORD_JOINER if text.endswith((" ", "\t", "\n")) else ""


def markdown(text: str) -> str:
    r"""``text`` as Markdown that Streamlit shows literally: what a person reads is ``text`` itself.

    >>> markdown("**hi** [x](http://e.vil)") == "\u2060\\*\\*hi\\*\\* &lsqb;x](http:\u2060//e.vil)"
    True
    >>> markdown("a -- b www.x.org :red[!] Self-Reliance (ok?)") == (
    ...     "a -\u2060- b www\u2060.x.org :\u2060red&lsqb;!] Self-Reliance (ok?)")
    True
    >>> markdown("# not a heading\n1. nor a list") == "\u2060# not a heading  \n\u20601. nor a list"
    True
    >>> text = "  two\n\nlines &lt; <b> :material/warning: "
    >>> read(markdown(text)) == text
    True
    """
    body = _write(text) + _end(text)
    if _BIDI_CONTROLS.search(text):
        body = FSI + body.replace(LINE_BREAK, PDI + LINE_BREAK + FSI) + PDI
    return body


def markdown_stream(chunks: Iterable[str]) -> Iterator[str]:
    """:func:`markdown` for a text that arrives in pieces (a streamed reply, for ``st.write_stream``).

    The pieces joined are the writing of the whole text (without the bidi isolation, which needs the
    whole: a reply is its own block, and the page writes it whole with :func:`markdown` once stored).

    >>> text = "See www.example.org -- or http://e.vil: **now**  "
    >>> pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    >>> "".join(markdown_stream(pieces)) == markdown(text)
    True
    """
    tail = ""
    for chunk in chunks:
        if not chunk:
            continue
        head = _write(tail)
        yield _write(tail + chunk)[len(head) :]
        tail = (tail + chunk)[-_LOOK_BACK:]
    end = _end(tail)
    if end:
        yield end


_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def read(source: str) -> str:
    """What a person reads from Markdown ``source`` that holds text written by :func:`markdown`: references
    decoded, line breaks back to ``\\n``, the added invisible characters removed (tests use it).

    >>> read("\\\\*hi\\\\* &lt;b&gt; a:\\u2060b" + LINE_BREAK + "c")
    '*hi* <b> a:b\\nc'
    """
    text = _BACKSLASH_ESCAPE.sub(r"\1", source)  # the app's own Markdown may escape a character
    text = html.unescape(text.replace(LINE_BREAK, "\n"))
    return "".join(c for c in text if c not in ADDED)
