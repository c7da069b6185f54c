"""What ``python cli.py demo`` puts in a demo deliberation: written by this project for the demo.

One question, three contexts, three seed values (each keeps the card rules of DOMAIN.md §4) and ten upgrade
stories (five pairs of seeds, both directions, DOMAIN.md §6), so the first participant already has values to
vote on and stories to judge. Each seed is in at least three pairs, more than a participant's new value gets
at first (``pipeline_pairs_per_value``, 3), so the pipeline, which pairs a new value first with the values
in the fewest pairs (:mod:`interviews.pipeline`), pairs the second participant's value with the first
one's. None of it comes from the MAI study data or from a model.

>>> len(SEEDS), len(CONTEXTS), len(STORIES)
(3, 3, 10)
>>> {(s.from_title, s.to_title, s.context) for s in STORIES} >= {
...     (b, a, c) for a, b, c in ((s.from_title, s.to_title, s.context) for s in STORIES)}
True
"""

from __future__ import annotations

from dataclasses import dataclass

TITLE = "A parent's hard choice (demo)"
QUESTION = "My 16-year-old daughter wants to leave school to work on her music full time. What should I do?"
WELCOME = (
    "This is a demo of Moral Graph Studio. The interviewer is scripted (LLM_MODE=fake), not a language "
    "model, and the first values and stories you will see were written by the project, so that every step "
    "of the process has something in it."
)
CONSENT = "This is a demo: what you write is kept in this installation's database only."

CONTEXTS: tuple[str, ...] = (
    "When a young person's dream carries real risk",
    "When parent and child see the future differently",
    "When a choice would be hard to reverse",
)


@dataclass(frozen=True)
class DemoSeed:
    title: str
    description: str
    policies: tuple[str, ...]


SEEDS: tuple[DemoSeed, ...] = (
    DemoSeed(
        "Taking Passion Seriously",
        "Treating a young person's passion as part of who they are becoming, not a phase to manage.",
        (
            "SIGNS of real devotion, like practising when nobody is asking",
            "STRENGTHS a young person shows when they work at what they love",
            "PATHS that let a passion grow without closing every other door",
        ),
    ),
    DemoSeed(
        "Guidance from Experience",
        "Offering what an adult has learned while a young person learns to choose for themselves.",
        (
            "LESSONS from one's own life that could spare them a hard fall",
            "LIMITS that keep a young person safe while they try things",
            "CONVERSATIONS where advice is offered rather than imposed",
        ),
    ),
    DemoSeed(
        "Keeping Doors Open",
        "Protecting the futures a young person may want later while they follow what they want now.",
        (
            "OPTIONS that would be hard to win back later",
            "SKILLS that serve many different lives",
            "COMPROMISES that let someone try a dream without betting everything on it",
        ),
    ),
)


@dataclass(frozen=True)
class DemoStory:
    """An upgrade story: someone who chose by ``from_title`` and now chooses by ``to_title``."""

    context: str
    from_title: str
    to_title: str
    story: str


_PASSION, _GUIDANCE, _DOORS = (s.title for s in SEEDS)
_RISK, _DIFFERENT, _IRREVERSIBLE = CONTEXTS

STORIES: tuple[DemoStory, ...] = (
    DemoStory(
        _RISK,
        _GUIDANCE,
        _PASSION,
        "When my nephew told us he was going to spend a year playing music on the road, a dream that "
        "carried real risk, I sat him down with a list. I had tried something similar at his age and run "
        "out of money in a month, and I wanted to spare him that. I meant it as love. But as I went through "
        "rent, safety and everything that could go wrong, I watched him stop listening, and I felt a kind "
        "of shame: I was protecting him from a story of mine, not looking at him. A week later he played "
        "for us in the kitchen, and I saw how hard he had worked, how he corrected himself without anyone "
        "asking. I started asking what the music gave him and how he could keep it growing. My warnings did "
        "not disappear; they became part of a plan we made together. What I wanted all along was for him to "
        "thrive, and that meant taking his devotion seriously instead of only guarding him from it.",
    ),
    DemoStory(
        _RISK,
        _PASSION,
        _GUIDANCE,
        "My daughter wanted to move to another city for an acting course, a dream with real risk for a "
        "young person on her own, and I was proud to be the parent who said yes. I had always believed a "
        "young person's passion should be taken seriously, and I said so to anyone who doubted her. Then "
        "she called me in her second month, frightened: she had signed a lease she could not afford and had "
        "nobody to ask about it. I felt sick. I had been so busy cheering that I had never offered what I "
        "actually knew about contracts, money and being alone in a new place. So I started calling her on "
        "Sundays, not to talk her out of anything, but to share what I had learned the hard way and to ask "
        "what she needed. She still acts. Now she has someone in her corner who backs the dream and also "
        "helps her carry it, which is what I thought I was doing all along.",
    ),
    DemoStory(
        _DIFFERENT,
        _GUIDANCE,
        _DOORS,
        "My son and I saw his future differently for a whole summer, and as his parent I was sure my "
        "experience should settle it: I had seen friends leave school and regret it, and I told him every "
        "one of those stories. He heard them as a verdict. One night he said, quietly, that I was "
        "describing my life, not his. It stung, because he was right. I stopped trying to win and started "
        "asking a different question with him: which choices would still leave him free to change his mind "
        "in two years? We found a part-time course that kept his qualifications within reach while he "
        "played with a band. My experience still mattered, but now it served something wider than being "
        "proven right. What I had always wanted was for him to have a good life to choose from, and that "
        "meant keeping more doors open, not walking him through mine.",
    ),
    DemoStory(
        _DIFFERENT,
        _DOORS,
        _GUIDANCE,
        "When my daughter and I saw her future differently, I tried, as a parent, to stay neutral. I laid "
        "out every option like a menu and told her any of them could work, because I did not want to close "
        "a single door. I thought that was respect. But she kept coming back more anxious, and one evening "
        "she said that she did not need more options, she needed to know what I thought. I realised I had "
        "been hiding behind fairness so that I would never be blamed for a wrong turn. So I told her "
        "honestly what I had learned from my own mistakes and where I saw the real dangers, and then I said "
        "the choice was hers. She chose differently from what I would have, and I was at peace with it. "
        "Keeping options open still matters to me, but now I offer what I know instead of leaving her alone "
        "with the menu.",
    ),
    DemoStory(
        _IRREVERSIBLE,
        _DOORS,
        _PASSION,
        "My niece was offered a place in a touring orchestra, which meant leaving school for two years, a "
        "choice that would be hard to reverse. I pushed her to turn it down and keep her exams on track, "
        "because I wanted every option to stay open for her. I thought I was being prudent. Then I went to "
        "one of her rehearsals and saw her with the other players, completely absorbed, better than I had "
        "ever seen her. I felt a jolt of regret: in protecting her future options, I had been ready to give "
        "up the one thing she was already building. We talked again, this time about how to make the tour "
        "work and what she could keep up along the way. She went. My caution did not vanish; it found its "
        "place inside a real commitment to who she was becoming, which is what I cared about from the "
        "start.",
    ),
    DemoStory(
        _IRREVERSIBLE,
        _PASSION,
        _DOORS,
        "When my son wanted to quit his apprenticeship to produce music, a choice that would be hard to "
        "reverse, I backed him without a second thought. His passion was real, and I believed that "
        "following it was the whole point. A year later the studio he worked for closed, and he had no "
        "qualification and no plan. He did not blame me, but I saw how stuck he felt, and I knew I had "
        "cheered for the dream without helping him protect the rest of his life. Now, when he talks about a "
        "new project, I ask him what he could keep going alongside it, and which skills would serve him "
        "whatever happens. He is still making music, and now he has a trade as well. I still take his "
        "passion seriously; I see now that caring for it also means caring for the doors it might need "
        "later.",
    ),
    DemoStory(
        _DIFFERENT,
        _PASSION,
        _GUIDANCE,
        "My son and I could not agree on his future: as parent and child we saw it differently. He wanted "
        "to go all in on his band, and I had always told myself that the kindest thing was to back a young "
        "person's passion without conditions, so I kept my doubts to myself and said only encouraging "
        "things. Then one night he asked me straight out whether I thought he could make a living from it, "
        "and I had nothing useful to say. I felt I had left him alone at the very moment he wanted me. I "
        "had years of experience with money, work and disappointment that I had been hiding to look "
        "supportive. So I told him what I had seen go wrong for friends, and we talked through what a first "
        "year could look like. He is still in the band. Backing his passion now includes giving him what I "
        "know, which is what backing him meant from the start.",
    ),
    DemoStory(
        _DIFFERENT,
        _GUIDANCE,
        _PASSION,
        "When my daughter and I saw her future differently, I relied, as her parent, on what I knew. I had "
        "worked for thirty years, I had seen how hard creative careers can be, and I believed my job was to "
        "pass that knowledge on before she learned it painfully. So every conversation became a lesson, and "
        "she grew quieter with each one. Then her teacher showed me a recording of her performing, and I "
        "barely recognised her: confident, precise, completely alive. I felt ashamed that I had never asked "
        "to hear her play before telling her what to do. I began asking what the music gave her and what "
        "she was working towards, and only then offered what I had learned. She listened far more once she "
        "felt seen. My experience still matters, but it now serves who she is becoming rather than the path "
        "I would have chosen, and that is what I wanted to protect all along.",
    ),
    DemoStory(
        _RISK,
        _DOORS,
        _PASSION,
        "My younger brother had a chance to join a dance company abroad, with no promise of a contract "
        "after the first season. The dream carried real risk, and I told him to stay, finish his degree and "
        "keep every option open. It seemed the responsible thing to say. But over the following months I "
        "watched him go flat, going through the motions of lectures he did not care about, and I felt "
        "uneasy: I had protected a set of possibilities and neglected the person who would have to live "
        "them. We talked again, and this time I asked what dancing meant to him and what it would take to "
        "try it without losing everything else. He went, with a plan to keep studying part-time from "
        "abroad. Leaving options open still matters to me, but I see now that it was always meant to serve "
        "a life he could love, not to replace it.",
    ),
    DemoStory(
        _RISK,
        _PASSION,
        _DOORS,
        "When my cousin wanted to put all her savings into recording an album, I was her loudest supporter. "
        "I believed that a dream taken seriously deserves everything, and that doubts would only hold her "
        "back. The dream carried real risk, but I did not want to be the person who said so. Six months "
        "later the money was gone, the album was half finished, and she had turned down a training place "
        "she could not get back. I felt a heavy regret, because I had cheered her on without once asking "
        "what she could keep in reserve. When she started again, I helped her plan the recording in stages "
        "and keep a part-time job alongside it. She finished the album the second time. I still take her "
        "passion seriously; now I see that protecting her options was part of caring for that passion, not "
        "a betrayal of it.",
    ),
)
