"""Facilitator console: the live monitor of one deliberation (funnel, time per step, model usage and cost,
the survey beside the published study). It reads again every few seconds until paused."""

import streamlit as st

from errors import StudioError
from services.facilitator import monitor
from ui import auth, components, console, resources
from ui.router import through_router

through_router()
who = auth.require_facilitator()

REFRESH_S = 10

st.title("Monitor")
chosen = console.chosen_deliberation()
if chosen is None:
    st.stop()
live = st.toggle(f"Refresh every {REFRESH_S} s", value=True, help="Pause to read a table without it moving.")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "no one yet"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def usage_table(rows: list[monitor.Usage], label: str) -> list[dict[str, object]]:
    return [
        {
            label: u.label,
            "calls": u.calls,
            "errors": u.errors,
            "tokens in": u.tokens_in,
            "tokens out": u.tokens_out,
            "estimated cost": u.cost_text,
        }
        for u in rows
    ]


@st.fragment(run_every=REFRESH_S if live else None)
def live_view(deliberation_id: int) -> None:
    auth.guard_fragment()  # a refresh after the sign-in is gone reruns the page, which stops it
    try:
        m = monitor.overview(
            resources.engine(), deliberation_id=deliberation_id, prices=resources.settings().model_prices
        )
    except StudioError as exc:
        components.error_box(exc, action="Reading the monitor", detail=True)
        return
    st.caption(f"Read at {m.read_at:%H:%M:%S} UTC" + ("" if live else " (paused)"))

    st.header("Funnel")
    st.markdown(
        f"**{components.counted(m.participants, 'participant')}** (visitors who consented). A visitor who "
        "opened a link but never consented is not a participant; they count only as visited."
    )
    steps = [{"step": s.step, "did it": s.reached, "skipped": s.skipped} for s in m.funnel]
    st.bar_chart(steps, x="step", y=["did it", "skipped"], sort=False, y_label="visitors")
    meanings = dict(monitor.FUNNEL_STEPS)
    st.dataframe([row | {"what counts": meanings[str(row["step"])]} for row in steps], hide_index=True)

    st.header("Median time per step")
    st.dataframe(
        [
            {"step": t.step, "median": duration(t.median_s), "people": t.people, "measured": t.measured}
            for t in m.times
        ],
        hide_index=True,
    )

    st.header("Model calls and cost")
    if m.priced_models:
        st.caption(
            "Estimated from MODEL_PRICES (per million tokens) for "
            + ", ".join(m.priced_models)
            + "; a model without a price counts in tokens only."
        )
    else:
        st.caption("No MODEL_PRICES set: tokens only (set prices per model to see an estimated cost).")
    st.subheader("Per step and job")
    if m.by_step:
        st.dataframe(usage_table(m.by_step, "step"), hide_index=True)
    else:
        st.text("No model calls yet.")
    per = m.by_participant
    st.subheader("Per participant")
    left, middle, right = st.columns(3)
    left.metric("Participants with calls", per.participants)
    middle.metric("Median tokens", "-" if per.median_tokens is None else f"{per.median_tokens:,.0f}")
    right.metric("Median cost", "tokens only" if per.median_cost is None else f"{per.median_cost:.4f}")
    if per.top:
        st.caption(f"The {len(per.top)} with the most tokens:")
        st.dataframe(usage_table(per.top, "participant"), hide_index=True)

    st.header("Survey beside the published study")
    st.caption(
        "Ours: the share answering 4 or 5 on a 1-5 agreement item, or yes on a yes/no question. Published: "
        "Klingefjord, Lowe & Edelman (2024), 500 Americans."
    )
    charted = [r for r in m.survey if r.kind != "text"]
    if any(r.answered for r in charted):
        compare = [  # None: no bar (nobody answered it yet; no published figure)
            {
                "item": r.key,
                "ours %": r.agree_percent,
                "published %": r.published.percent if r.published else None,
            }
            for r in charted
        ]
        st.bar_chart(compare, x="item", y=["ours %", "published %"], stack=False, sort=False)
    else:
        st.text("No survey answers yet.")
    st.dataframe(
        [
            {
                "key": r.key,
                "question": r.label,
                "answered": r.answered,
                "ours %": "-" if r.agree_percent is None else f"{r.agree_percent:.1f}",
                "answers": ", ".join(f"{k}: {v}" for k, v in r.counts.items()) or "free text (not shown)",
                "published": f"{r.published.percent:.1f}%: {r.published.wording}"
                if r.published
                else "no published figure",
            }
            for r in m.survey
        ],
        hide_index=True,
    )


live_view(chosen.id)
