"""The facilitator's live monitor of one deliberation: the funnel, the median time per step, model usage
with its estimated cost, and the survey beside the published study (issue 12 item 5).

Read-only; one session per refresh. Costs come from ``MODEL_PRICES`` (``Settings.model_prices``): a model
without a price counts in tokens only, never at a guessed price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from interviews import funnel
from interviews.funnel import FunnelStep, PerParticipant, StepTime, SurveyResult
from storage import repo_deliberations, repo_monitor
from storage.db import session_scope
from storage.schemas import DeliberationConfig
from storage.tables import utcnow

Usage = funnel.Usage  # one step's, job's or participant's calls, tokens and cost (what the page lists)
#: The funnel's steps with what counts as having done each.
FUNNEL_STEPS = funnel.FUNNEL_STEPS
#: The receipt's two questions (stored as survey responses; see ``pages/finish.py``).
RECEIPT_ITEMS = (
    funnel.SurveyItem(
        "represents_my_value", "Does this shared value represent what you care about?", "yes_no"
    ),
    funnel.SurveyItem("fair_position", "Do you think your value ended up in a fair position?", "yes_no"),
)


@dataclass(frozen=True)
class MonitorPublic:
    deliberation_id: int
    title: str
    funnel: list[FunnelStep]
    times: list[StepTime]
    by_step: list[Usage]
    by_participant: PerParticipant
    survey: list[SurveyResult]
    priced_models: list[str]  # the models MODEL_PRICES names (empty: tokens only)
    read_at: datetime

    @property
    def participants(self) -> int:
        """Visitors who consented (a visitor who never consented is not a participant)."""
        return next(s.reached for s in self.funnel if s.step == "consented")


def overview(
    engine: Engine,
    *,
    deliberation_id: int,
    prices: funnel.Prices | None = None,
    top: int = 10,
) -> MonitorPublic:
    """Everything the monitor shows for the deliberation, read now; raises ``NotFound`` for a bad id."""
    prices = dict(prices or {})
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        config = DeliberationConfig.stored(deliberation.config)
        journeys = [
            funnel.Journey(**row._asdict())
            for row in repo_monitor.journeys(session, deliberation_id=deliberation_id)
        ]
        groups = [
            funnel.CallGroup(**row._asdict())
            for row in repo_monitor.call_groups(session, deliberation_id=deliberation_id)
        ]
        answers = repo_monitor.survey_answers(session, deliberation_id=deliberation_id)
        title = deliberation.title
    items = [funnel.SurveyItem(q.key, q.label, q.kind) for q in config.survey] + list(RECEIPT_ITEMS)
    return MonitorPublic(
        deliberation_id=deliberation_id,
        title=title,
        funnel=funnel.funnel(journeys),
        times=funnel.step_times(journeys),
        by_step=funnel.usage_by_step(groups, prices),
        by_participant=funnel.usage_by_participant(groups, prices, top=top),
        survey=funnel.survey_results(items, answers),
        priced_models=sorted(prices),
        read_at=utcnow(),
    )
