"""What the demo model (``LLM_MODE=fake``) writes: values cards and contexts written by this project.

Nothing here comes from a study or a model. The cards are general enough to fit most questions a
facilitator might type; each keeps the card rules (DOMAIN.md §4) and comes in two wordings, so that "ask
for changes" shows a card that really changed. :mod:`providers.demo_answers` picks among them by the
participant's own words (:attr:`DemoValue.keywords`: a keyword of up to three letters matches a whole
word or its plural, a longer one the beginning of a word).

>>> len(DEMO_VALUES) >= 8 and all(len(v.wordings) == 2 for v in DEMO_VALUES)
True
>>> len({v.title for v in DEMO_VALUES}) == len(DEMO_VALUES)
True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    """One way to write a value: its sentence and what its holder attends to."""

    description: str
    policies: tuple[str, ...]


@dataclass(frozen=True)
class DemoValue:
    """A value the demo may write as a participant's card: a title, word beginnings that call for it,
    and its wordings (the first is written first; a change request moves to the next one)."""

    title: str
    keywords: tuple[str, ...]
    wordings: tuple[Wording, ...]


DEMO_VALUES: tuple[DemoValue, ...] = (
    DemoValue(
        "Honest Gentleness",
        ("honest", "truth", "tell", "told", "lie", "lied", "lying", "gentl", "frank", "straight"),
        (
            Wording(
                "Telling the truth at a pace and in words the other person can bear.",
                (
                    "MOMENTS when the other person is ready to hear more",
                    "WORDS that are true and still leave room for hope",
                    "SIGNS that someone wants to know, or does not want to know yet",
                ),
            ),
            Wording(
                "Being truthful while watching what the other person can take in right now.",
                (
                    "QUESTIONS that let the other person set the pace",
                    "WORDS that are true and still leave room for hope",
                    "SIGNS that someone wants to know, or does not want to know yet",
                    "SILENCES after hard news that ask for patience rather than more facts",
                ),
            ),
        ),
    ),
    DemoValue(
        "Trust in Self-Direction",
        ("choos", "choice", "decid", "decision", "free", "autonom", "independ", "control", "own", "myself"),
        (
            Wording(
                "Trusting people to find their own way through a hard choice.",
                (
                    "CHANGES in people when they are entrusted with their own choices",
                    "INSIGHTS a person reaches by weighing a hard choice themselves",
                    "OPTIONS the person may not have seen yet",
                ),
            ),
            Wording(
                "Helping people own a hard choice instead of handing it to someone else.",
                (
                    "CHANGES in people when they are entrusted with their own choices",
                    "REASONS the person already holds but has not said out loud",
                    "OPTIONS the person may not have seen yet",
                    "MOMENTS when advice would quietly take the decision away from them",
                ),
            ),
        ),
    ),
    DemoValue(
        "Steady Presence",
        ("listen", "heard", "alone", "sat", "stay", "comfort", "presen", "hug", "lonel"),
        (
            Wording(
                "Staying with someone in a hard moment instead of rushing to fix it.",
                (
                    "MOMENTS when a person feels heard before anything is solved",
                    "SILENCES that give someone room to find their words",
                    "FEELINGS that need company more than advice",
                ),
            ),
            Wording(
                "Being there for someone in a hard moment before offering any answer.",
                (
                    "MOMENTS when a person feels heard before anything is solved",
                    "SILENCES that give someone room to find their words",
                    "FEELINGS that need company more than advice",
                    "GESTURES, however small, that tell someone they are not alone",
                ),
            ),
        ),
    ),
    DemoValue(
        "Practical Clarity",
        ("plan", "step", "practical", "option", "inform", "fact", "money", "cost", "job", "work", "research"),
        (
            Wording(
                "Helping someone see the concrete options and what each would mean for their days.",
                (
                    "STEPS a person could take this week",
                    "CONSEQUENCES of each option that are easy to overlook",
                    "RESOURCES and people who could help with the next step",
                ),
            ),
            Wording(
                "Turning a tangled worry into options a person can weigh and act on.",
                (
                    "STEPS a person could take this week",
                    "CONSEQUENCES of each option that are easy to overlook",
                    "RESOURCES and people who could help with the next step",
                    "DETAILS of daily life that a choice would change",
                ),
            ),
        ),
    ),
    DemoValue(
        "Rooted in Family Bonds",
        (
            "famil",
            "mother",
            "mom",
            "mum",
            "father",
            "dad",
            "parent",
            "child",
            "son",
            "daughter",
            "sister",
            "brother",
            "kid",
            "grand",
        ),
        (
            Wording(
                "Keeping in view the relationships that will carry a person through whatever they choose.",
                (
                    "PEOPLE whose lives are bound up with the choice",
                    "CONVERSATIONS that could bring the family closer",
                    "MEMORIES and habits that give a family its shape",
                ),
            ),
            Wording(
                "Seeing a hard choice as something a family lives through together.",
                (
                    "PEOPLE whose lives are bound up with the choice",
                    "CONVERSATIONS that could bring the family closer",
                    "ROLES each person plays that the choice would shift",
                ),
            ),
        ),
    ),
    DemoValue(
        "Faith and Conscience",
        (
            "faith",
            "god",
            "church",
            "pray",
            "belie",
            "relig",
            "conscien",
            "spirit",
            "christian",
            "muslim",
            "jewish",
            "soul",
        ),
        (
            Wording(
                "Honouring the convictions a person lives by while they face a hard choice.",
                (
                    "CONVICTIONS the person holds as their own, not borrowed",
                    "SOURCES of guidance they already trust",
                    "TENSIONS between belief and circumstance that ask for patience",
                ),
            ),
            Wording(
                "Helping a person choose in a way their conscience can rest with.",
                (
                    "CONVICTIONS the person holds as their own, not borrowed",
                    "SOURCES of guidance they already trust",
                    "QUESTIONS of conscience that are still open for them",
                ),
            ),
        ),
    ),
    DemoValue(
        "Care for the Future Self",
        ("future", "later", "regret", "year", "long", "someday", "grow", "career", "school", "stud"),
        (
            Wording(
                "Helping someone choose in a way they can stand behind years from now.",
                (
                    "REGRETS people often describe after choosing in a hurry",
                    "HOPES the person holds for the life they want",
                    "CHOICES that keep later options open",
                ),
            ),
            Wording(
                "Weighing today's choice against the person someone is becoming.",
                (
                    "REGRETS people often describe after choosing in a hurry",
                    "HOPES the person holds for the life they want",
                    "HABITS that a choice would start or end",
                ),
            ),
        ),
    ),
    DemoValue(
        "Courage to Speak Up",
        ("fear", "afraid", "scar", "courag", "brave", "speak", "stand", "voice", "confront", "silent"),
        (
            Wording(
                "Helping a person find the nerve to say what they really think.",
                (
                    "FEARS that keep someone quiet when something is at stake",
                    "WORDS that say the hard thing without cruelty",
                    "MOMENTS when speaking up would change what happens next",
                ),
            ),
            Wording(
                "Standing by someone as they find the words for what they believe.",
                (
                    "FEARS that keep someone quiet when something is at stake",
                    "WORDS that say the hard thing without cruelty",
                    "ALLIES who would stand beside them once they speak",
                ),
            ),
        ),
    ),
)

#: Contexts the demo proposes (each a "When ..." clause of 4-9 words, general enough for most questions).
DEMO_CONTEXTS: tuple[str, ...] = (
    "When someone faces a choice they cannot undo",
    "When strong feelings make it hard to think",
    "When people close to them disagree",
    "When the person asks for a clear answer",
    "When the facts are uncertain or incomplete",
    "When someone else's wellbeing depends on the choice",
    "When the person feels alone with the decision",
    "When beliefs and circumstances pull apart",
    "When the person is afraid of being judged",
)
