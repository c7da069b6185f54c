"""How much one model call or one job run takes on: the bounds the jobs enforce and the front ends show.

They sit apart from the modules that enforce them (which load langchain) so that a front end can print them,
as ``cli.py dedup --help`` does, without loading a model library. Each module that enforces one binds it
under its own name (``interviews.contexts.MAX_GENERATED``, ``interviews.dedup.MAX_BATCH``,
``services.jobs.dedup.DEFAULT_BATCH``, ``services.jobs.stories.DEFAULT_MAX_PAIRS`` and ``MAX_PAIRS``,
``interviews.seeds.MAX_SEEDS``).

Examples
--------
>>> 1 <= DEDUP_BATCH <= DEDUP_BATCH_MAX and 1 <= STORY_PAIRS <= STORY_PAIRS_MAX
True
"""

from __future__ import annotations

#: The most contexts a facilitator may generate in one call.
CONTEXTS_PER_CALL = 20
#: New cards per partition call of a dedup run, unless the run asks for another size.
DEDUP_BATCH = 20
#: The most new cards one partition call takes (its output schema is bounded by it too).
DEDUP_BATCH_MAX = 40
#: The most seed values the model writes for a question in one call.
SEEDS_PER_CALL = 12
#: Pairs of values one story run writes stories for, unless the run asks for another number.
STORY_PAIRS = 50
#: The most pairs of values one story run may ask for.
STORY_PAIRS_MAX = 5000
