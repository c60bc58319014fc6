"""The Streamlit companion's script: layout only; every figure comes from an engine module.

Every figure and every action comes from the application layer
(:class:`vectortrainer.workspace.Workspace` and its views: ``run_views``, ``vector_map``,
``hook_views``, ``service``).

``vectortrainer web`` starts it as
``streamlit run app.py -- --output-dir DIR --store PATH --hooks-dir DIR --models-dir DIR [--config
FILE]``. Pages: run status (live while the run goes), vector distribution, learning curve,
hook versions (diff and rollback with a confirmation), in service (the promoted
model and the active hook per function, the canary with its figures per arm, the
gates' last decisions, the loop's next trigger, a model rollback and a canary stop,
each with a confirmation).

Write actions (hook rollback, model promotion, canary stop) need the per-start access token that
``vectortrainer web`` puts in the address it prints (``?token=…``, like a notebook
server) and hands to this script in ``VECTORTRAINER_WEB_TOKEN``. Without it the page is
read-only: the write controls are not drawn, and the write handlers check the token in
the session's own address themselves, so a script that talks to the WebSocket without
the token changes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hmac
import os
import sys
from collections.abc import Callable
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from vectortrainer.config import Config, load_config
from vectortrainer.errors import VectorTrainerError, describe
from vectortrainer.json_types import JSONObject
from vectortrainer.web.access import ACCESS_TOKEN_ENV
from vectortrainer.workspace import Workspace, offline_defaults, run_views
from vectortrainer.workspace import vector_map as vectors
from vectortrainer.workspace.hook_views import HookVersionRow
from vectortrainer.workspace.service import ServiceView
from vectortrainer.workspace.types import SelectionSettings

HOW_TO_START = (
    "No run yet in {output_dir}. Start one from a terminal:\n\n"
    "- headless: `vectortrainer --batch --function NAME --config config.yaml` "
    "(add `--max-budget USD --yes` to approve the cost up front)\n"
    "- interactive: `vectortrainer` opens the terminal app; its Training screen starts a run\n"
    "- no logs yet? `vectortrainer demo seed` fills a demo store first\n\n"
    "This page finds the run as soon as its directory appears under `runs/`."
)

READ_ONLY = (
    "Read-only: open the address `vectortrainer web` printed (it ends in `?token=…`) to {action}."
)
PAGES = ("Run status", "Vector distribution", "Learning curve", "Hook versions", "In service")
REFRESH_S = 2.0
STATE_ICONS = {"pending": "·", "running": "▶", "complete": "✔", "skipped": "↷", "failed": "✖"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vectortrainer web")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--output-dir", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--hooks-dir", type=Path)
    parser.add_argument("--models-dir", type=Path)
    return parser.parse_known_args(argv)[0]


def load_settings(argv: list[str]) -> Config:
    args = parse_args(argv)
    config = load_config(args.config).with_overrides(**{
        "output_dir": args.output_dir, "store.path": args.store, "hooks.dir": args.hooks_dir,
        "models.dir": args.models_dir})
    return offline_defaults(config)  # no config file, no key: the demo trains SmolLM2 locally


def write_access() -> bool:
    """True when this session's address carries the token of this start (the only proof a person
    opened it).

    Read from the session's own query string at every run (never from widget state, which a
    client can send); with no token configured, nothing is writable.
    """
    expected = os.environ.get(ACCESS_TOKEN_ENV, "")
    given = st.query_params.get("token", "")
    return (
        bool(expected)
        and isinstance(given, str)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


def main() -> None:
    st.set_page_config(page_title="VectorTrainer", page_icon="📈", layout="wide")
    try:
        config = load_settings(sys.argv[1:])
    except VectorTrainerError as exc:
        st.error(f"Configuration: {describe(exc)}")
        return
    config.register_secrets()  # start-up: no page shows them
    workspace = Workspace(config)
    st.sidebar.title("VectorTrainer")
    page = st.sidebar.radio("Page", PAGES, key="page")
    output_dir = Path(config.output_dir)
    try:
        runs = workspace.runs.list()
    except OSError as exc:
        runs = []
        st.sidebar.error(f"{output_dir}: cannot list runs ({exc.strerror})")
    run_id = None
    if runs:
        labels = {info.run_id: run_views.run_label(info) for info in runs}
        run_id = st.sidebar.selectbox(
            "Run", list(labels), format_func=lambda run: labels[run], key="run"
        )
    st.sidebar.caption(
        f"runs: `{output_dir}`  \nstore: `{config.store.path}`  \nhooks: `{config.hooks.dir}`  \n"
        f"models: `{config.models.dir}`"
    )
    if not write_access():
        st.sidebar.caption("read-only (no access token in the address)")
    view = run_views.open_run_view(output_dir, run_id) if run_id else None
    if page == "Run status":
        run_status_page(view, output_dir)
    elif page == "Vector distribution":
        vector_page(view, workspace)
    elif page == "Learning curve":
        learning_curve_page(view, output_dir)
    elif page == "Hook versions":
        hooks_page(workspace, view.function if view else None)
    else:
        service_page(workspace, view.function if view else None)


# ------------------------------------------------------------------------------ run status
def no_run(output_dir: Path) -> None:
    st.info(HOW_TO_START.format(output_dir=f"`{output_dir}`"))
    # a click reruns the script, which lists the runs anew
    st.button("Look again", key="look_again")


def event_feed(view: run_views.RunView) -> run_views.EventFeed:
    """The run's events, kept across reruns so each refresh reads only what was appended."""
    feeds: dict[str, run_views.EventFeed] = st.session_state.setdefault("event_feeds", {})
    key = str(view.events_path)
    if key not in feeds:
        feeds[key] = run_views.EventFeed(view.events_path)
    feed = feeds[key]
    feed.refresh()
    return feed


def live_page(
    title: str,
    view: run_views.RunView | None,
    output_dir: Path,
    panel: Callable[[run_views.RunView], None],
) -> None:
    """A page about one run: ``panel(view)`` redrawn every few seconds while "Follow live" is on."""
    st.header(title)
    if view is None:
        no_run(output_dir)
        return
    live = st.toggle("Follow live", value=view.live, key=f"live-{view.run_id}",
                     help=f"re-read run.json and new events every {REFRESH_S:g} s")
    st.fragment(run_every=REFRESH_S if live else None)(functools.partial(panel, view))()


def run_status_page(view: run_views.RunView | None, output_dir: Path) -> None:
    def panel(view: run_views.RunView) -> None:
        current = run_views.open_run_view(output_dir, view.run_id)
        for problem in current.problems:
            st.error(problem)
        feed = event_feed(current)
        state = current.state
        rows = run_views.stage_rows(current, feed.events)
        st.markdown(f"**{current.run_id}** · function `{current.function or '?'}`"
                    + (f" · started {rows[0]['started']}" if rows and rows[0]["started"] else ""))
        cols = st.columns(3)
        cols[0].metric("status", current.status)
        cols[1].metric(
            "stages done", f"{sum(r['state'] in ('complete', 'skipped') for r in rows)}/{len(rows)}"
        )
        cols[2].metric("events", len(feed.events))
        if state is not None and state.error:
            st.warning(state.error)
        for row in rows:
            row["state"] = f"{STATE_ICONS.get(row['state'], '?')} {row['state']}"
        st.subheader("Stages")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        figures = current.summary.rows() if current.summary else []
        if figures:
            st.subheader("Summary")
            st.table(pd.DataFrame(figures, columns=["", "value"]).set_index(""))
        lines = run_views.log_lines(feed.events)
        st.subheader("Log")
        if lines:
            st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch", height=260)
        else:
            st.caption("no log lines yet")

    live_page("Run status", view, output_dir, panel)


# ------------------------------------------------------------------------------ vectors
@st.cache_data(show_spinner="Reading the function's logs and projecting them…", max_entries=8)
def cached_vector_map(
    _workspace: Workspace,  # not hashed (leading underscore): the store and signature are the key
    store: str,
    function: str,
    signature: str,
    settings: SelectionSettings,
    recorded_picks: list[JSONObject] | None,
) -> vectors.VectorMap:
    return _workspace.golden.vector_map(function, settings, recorded_picks)


def vector_page(view: run_views.RunView | None, workspace: Workspace) -> None:
    config = workspace.config
    st.header("Vector distribution")
    function = (view.function if view else None) or config.selection.function
    if not function:
        st.info(
            "No function chosen: pick a run (it names its "
            "function) or set `selection.function` in the config."
        )
        return
    settings = run_views.selection_settings(view, config.selection)
    asked = settings.epsilon if isinstance(settings.epsilon, str) else f"{settings.epsilon:g}"
    st.caption(f"function `{function}` · epsilon {asked} · top_k {settings.top_k}"
               + (" (the run's settings)" if view and view.state else ""))
    store = str(config.store.path)
    try:
        signature = workspace.golden.store_signature()
        recorded = view.golden_picks if view else None
        vector_map = cached_vector_map(workspace, store, function, signature, settings, recorded)
    except VectorTrainerError as exc:
        st.warning(f"Vector store not available: {describe(exc)}")
        golden = view.summary.golden if view and view.summary else None
        if golden is not None and golden.examples is not None:
            st.write("The run's golden data (from summary.json):")
            st.json(dataclasses.asdict(golden))
        elif view is not None and view.golden_examples is not None:
            st.write(f"The run wrote {view.golden_examples} golden examples (golden.jsonl).")
        return
    note = run_views.picks_note(vector_map, view)
    (st.warning if vector_map.missing_picks else st.caption)(note)
    if vector_map.coverage is not None:
        st.caption("  \n".join(vector_map.coverage.lines()))
    if not vector_map.points:
        st.info(
            f"`{function}` has no logs with a vector and captured inputs ({vector_map.skipped})."
        )
        return
    cols = st.columns(5)
    cols[0].metric("logs shown", f"{vector_map.shown:,} / {vector_map.total:,}")
    cols[1].metric("steady picks", vector_map.steady)
    cols[2].metric("new patterns", vector_map.anomaly)
    cols[3].metric("dense clusters", vector_map.clusters)
    cols[4].metric("variance shown", f"{sum(vector_map.explained):.0%}")
    if vector_map.skipped or vector_map.excluded:
        st.caption("left out: " + ", ".join(f"{n} {why}" for why, n in
                                            {**vector_map.skipped, **vector_map.excluded}.items()))
    colour = st.radio("Colour by", ("status", "strategy"), horizontal=True, key="colour_by")
    # Golden picks drawn last, so duplicates of a pick do not hide its colour.
    frame = pd.DataFrame(vector_map.points).sort_values("golden", kind="stable")
    st.altair_chart(map_chart(frame, colour), width="stretch")
    left, right = st.columns(2)
    with left:
        st.subheader("Density")
        st.altair_chart(histogram_chart(vector_map.density_bins, vector_map.one_neighbour_density,
                                        "density D(L)", "1 - ε: one neighbour"), width="stretch")
        st.caption("A log left of the line has no neighbour within ε (density 0).")
    with right:
        st.subheader("Distance to the nearest log")
        st.altair_chart(histogram_chart(vector_map.distance_bins, vector_map.epsilon,
                                        "cosine distance", "ε"), width="stretch")
        st.caption(
            "Logs right of ε are isolated: never cluster centres. They are candidates for new "
            "patterns, or steady picks where they sit as near a pattern's prototype as the "
            "clusters' own logs do."
        )
    picks = [p for p in vector_map.points if p["golden"]]
    if picks:
        st.subheader("Golden picks")
        frame = pd.DataFrame(picks)[["strategy", "rank", "status", "density", "input", "output"]]
        st.dataframe(
            frame.sort_values(["strategy", "rank"], ascending=[False, True]),
            hide_index=True,
            width="stretch",
        )


# Fixed colours so a status or strategy keeps its colour whatever the data holds.
COLOURS = {
    "status": {
        "SUCCESS": "#2ca02c",
        "ANOMALY": "#ff7f0e",
        "ERROR": "#d62728",
        "FAILURE": "#9467bd",
    },
    "strategy": {"steady": "#1f77b4", "anomaly": "#ff7f0e", vectors.NOT_PICKED: "#c7c7c7"},
}


def map_chart(frame: pd.DataFrame, colour: str) -> alt.LayerChart:
    """The 2-D map: every log coloured by ``colour``, golden picks ringed on top."""
    tooltip: list[str | alt.Tooltip] = [
        "status", "strategy", "rank", alt.Tooltip("density", format=".3f"), "input", "output",
    ]
    known = COLOURS[colour]
    domain = list(known) + sorted(set(frame[colour]) - set(known))
    scale = alt.Scale(domain=domain, range=[known.get(value, "#8c564b") for value in domain])
    base = alt.Chart(frame).encode(
        x=alt.X("x", title="PC 1"), y=alt.Y("y", title="PC 2"), tooltip=tooltip
    )
    points = base.mark_circle(size=28, opacity=0.6).encode(
        color=alt.Color(colour, title=colour, scale=scale)
    )
    golden = (
        base.transform_filter(alt.datum.golden)
        .mark_point(size=170, filled=False, strokeWidth=2, color="black")
        .encode(shape=alt.Shape("strategy", title="golden pick"))
    )
    layered = alt.layer(points, golden).resolve_legend(color="independent", shape="independent")
    chart: alt.LayerChart = layered.properties(height=520).interactive()
    return chart


def histogram_chart(
    bins: list[JSONObject], threshold: float, title: str, label: str
) -> alt.LayerChart | alt.FacetChart:
    frame = pd.DataFrame(bins or [{"start": 0.0, "end": 0.0, "count": 0, "group": "all"}])
    bars = (
        alt.Chart(frame)
        .mark_bar(opacity=0.8)
        .encode(
            x=alt.X("start:Q", bin="binned", title=title),
            x2="end:Q",
            y=alt.Y("count:Q", title="logs", stack="zero"),
            color=alt.Color("group", title=None),
            tooltip=["start", "end", "count", "group"],
        )
    )
    rule_frame = pd.DataFrame([{"threshold": threshold, "label": label}])
    rule = alt.Chart(rule_frame).mark_rule(color="red", strokeDash=[4, 3]).encode(x="threshold")
    text = alt.Chart(rule_frame).mark_text(align="left", dx=4, dy=-6, color="red").encode(
        x="threshold", y=alt.value(10), text="label")
    return alt.layer(bars, rule, text).properties(height=240)


# ------------------------------------------------------------------------------ learning curve
def learning_curve_page(view: run_views.RunView | None, output_dir: Path) -> None:
    def panel(view: run_views.RunView) -> None:
        feed = event_feed(view)
        points = run_views.learning_curve(feed.events)
        if not points:
            st.info(
                "No training metrics yet: the loss appears here "
                "step by step once the training job reports it."
            )
        else:
            frame = pd.DataFrame(points)
            chart = (
                alt.Chart(frame)
                .mark_line(point=True)
                .encode(
                    x=alt.X("step", title="step", axis=alt.Axis(tickMinStep=1, format="d")),
                    y=alt.Y("value", title="loss"),
                    color=alt.Color("metric", title=None),
                    tooltip=["metric", "step", alt.Tooltip("value", format=".4f")],
                )
            )
            st.altair_chart(chart.properties(height=420).interactive(), width="stretch")
        current = run_views.open_run_view(output_dir, view.run_id)
        figures = [
            f
            for f in (current.summary.rows() if current.summary else [])
            if f[0] in ("final loss", "held-out edit similarity", "training", "fine-tuned model")
        ]
        if figures:
            st.table(pd.DataFrame(figures, columns=["", "value"]).set_index(""))

    live_page("Learning curve", view, output_dir, panel)


# ------------------------------------------------------------------------------ hooks
def _write(
    message_key: str, confirm_key: str, refused: str, action: str, write: Callable[[], str]
) -> None:
    """Run ``write`` (it returns the success message) only for the page opened with its token and
    with the confirmation ticked; the outcome goes to ``message_key`` for the next rerun."""
    if not write_access():
        outcome = ("error", f"{refused}: " + READ_ONLY.format(action=action))
    elif st.session_state.get(confirm_key) is not True:
        outcome = ("error", f"{refused}: tick the confirmation first.")
    else:
        try:
            outcome = ("success", write())
        except VectorTrainerError as exc:
            outcome = ("error", f"{refused}: {describe(exc)}")
        st.session_state[confirm_key] = False
    st.session_state[message_key] = outcome


def choose_and_confirm(
    choices: list[str],
    key: str,
    *,
    nothing: str,
    action: str,
    pick: str,
    button: str,
    on_confirm: Callable[[str], None],
    confirm: Callable[[str], str],
) -> None:
    """A page's write control: pick one of ``choices``, tick the confirmation, press ``button``.

    Drawn only for the page opened with its token (``action`` says what that allows); the
    widgets' keys start with ``key`` (``<key>_target``, ``<key>_confirm``, ``<key>_button``).
    """
    if not choices:
        st.caption(nothing)
        return
    if not write_access():
        st.info(READ_ONLY.format(action=action))
        return
    target = st.selectbox(pick, choices, index=len(choices) - 1, key=f"{key}_target")
    ticked = st.checkbox(confirm(target), key=f"{key}_confirm")
    st.button(button, type="primary", disabled=not ticked, key=f"{key}_button",
              on_click=on_confirm, args=(target,))


def _rollback(workspace: Workspace, function: str, version_id: str) -> None:
    def roll_back() -> str:
        restored = workspace.hooks.rollback(function, version_id)
        return (f"{function} runs hook {restored.version_id} now "
                f"({restored.rules_count} rules).")

    _write("hook_message", "rollback_confirm", "Rollback refused", "roll back", roll_back)


def version_row(row: HookVersionRow) -> JSONObject:
    """A hook version as a table row (checksum state spelled out)."""
    return {
        "version": row.version_id,
        "state": row.state,
        "from": row.origin,
        "created": row.created,
        "rules": row.rules,
        "why": row.gate_reason or row.note,
        "checksum": "ok" if row.checksum_ok else f"FAILED: {row.problem}",
    }


def hooks_page(workspace: Workspace, run_function: str | None) -> None:
    st.header("Hook versions")
    message = st.session_state.pop("hook_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])
    functions = sorted({*workspace.hooks.functions(),
                        *(f for f in (workspace.config.selection.function, run_function) if f)})
    if not functions:
        st.info(f"No function has a hook in `{workspace.hooks.directory}` yet: "
                "`vectortrainer rules synthesize --function NAME --activate` makes one.")
        return
    function = st.selectbox("Function", functions, key="hooks_function")
    view = workspace.hooks.view(function)
    if view.problem:
        st.info(view.problem)
        return
    for warning in view.warnings:
        st.warning(warning)
    st.caption(f"`{view.hooks_dir}` · active: **{view.active or 'none'}**")
    st.dataframe(
        pd.DataFrame([version_row(row) for row in view.rows]), hide_index=True, width="stretch"
    )
    ids = [row.version_id for row in view.rows]
    if len(ids) >= 2:
        st.subheader("Rules changed")
        left, right = st.columns(2)
        a = left.selectbox("from", ids, index=len(ids) - 2, key="diff_a")
        b = right.selectbox("to", ids, index=len(ids) - 1, key="diff_b")
        try:
            diff = workspace.hooks.rule_diff(function, b, against=a)
        except VectorTrainerError as exc:
            st.error(describe(exc))
        else:
            st.markdown(f"**{diff.summary()}**")
            if diff.rows():
                st.dataframe(pd.DataFrame(diff.rows()), hide_index=True, width="stretch")
            for note in diff.notes:
                st.caption(note)
            with st.expander("feedback pairs behind each rule"):
                st.text("\n".join(diff.lines(pairs=True)))
    st.subheader("Roll back")
    choose_and_confirm(
        [i for i in ids if i != view.active], "rollback",
        nothing="Only the active version exists; nothing to roll back to.", action="roll back",
        pick="make active", button="Roll back",
        on_confirm=functools.partial(_rollback, workspace, function),
        confirm=lambda target: f"Replace {function}'s hook ({view.active or 'none'}) with {target}",
    )



# ------------------------------------------------------------------------------ in service
def _promote(workspace: Workspace, function: str, version_id: str) -> None:
    def promote() -> str:
        entry = workspace.models.rollback(function, version_id)
        return f"{entry.version_id} ({entry.model}) is now in service for {function}."

    _write("model_message", "model_confirm", "Not changed", "change the model", promote)


def _stop_canary(workspace: Workspace, function: str) -> None:
    def stop() -> str:
        record = workspace.models.stop_canary(function)
        return f"The canary of {function} is stopped: {record.reason}."

    _write("model_message", "canary_confirm", "Not stopped", "stop the canary", stop)


def canary_section(workspace: Workspace, view: ServiceView) -> None:
    """The running canary: its figures per arm, and a confirmed stop for the page's token."""
    canary = view.canary
    if canary is None:
        return
    st.subheader("Canary")
    st.caption(canary.text())
    rows = []
    for name, label in (("candidate", f"{canary.version_id} (candidate)"),
                        ("incumbent", f"{canary.incumbent_version or 'promoted'} (promoted)")):
        arm = canary.arm(name)
        rows.append({"arm": label, "calls": arm.get("calls"), "error rate": arm.get("error_rate"),
                     "corrections per call": arm.get("correction_rate"),
                     "similarity": arm.get("score_mean")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if canary.look is not None:
        st.caption(f"The loop's last word: {canary.look.get('reason')}")
    if not write_access():
        st.info(READ_ONLY.format(action="stop the canary"))
        return
    ticked = st.checkbox(
        f"Stop {canary.version_id}: {canary.incumbent_version or 'the promoted model'} serves "
        "every call", key="canary_confirm")
    st.button("Stop canary", type="primary", disabled=not ticked, key="canary_button",
              on_click=_stop_canary, args=(workspace, view.function))


def service_page(workspace: Workspace, run_function: str | None) -> None:
    config = workspace.config
    st.header("In service")
    message = st.session_state.pop("model_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])
    functions = sorted({*workspace.models.functions(),
                        *(f for f in (config.selection.function, run_function) if f)})
    if not functions:
        st.info(
            f"No trained model in `{config.models.dir}` yet and no function "
            "chosen: a run that trains a model keeps it there (`vectortrainer "
            "--batch --function NAME`), and `vectortrainer loop` keeps training."
        )
        return
    function = st.selectbox("Function", functions, key="service_function")
    view = workspace.service(function)
    for problem in view.problems:
        st.warning(problem)
    st.markdown("  \n".join(f"**{label}:** {text}" for label, text in view.lines()))
    canary_section(workspace, view)
    if not view.models:
        st.caption("No trained model for this function yet.")
        return
    st.subheader("Models")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": m.version_id,
                    "promoted": m.promoted,
                    "provider": m.provider,
                    "model id / adapter": m.model,
                    "run": m.run_id,
                    "score": m.score,
                    "paired gain": m.gain,
                    "per slice": m.slices,
                    "gate": m.gate,
                    "reason": m.reason,
                    "canary": m.canary,
                    "through the hook": m.hook,
                    "deployment": m.serving,
                }
                for m in reversed(view.models)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.subheader("Change the model in service")
    current = view.promoted.version_id if view.promoted else "the default model"
    choose_and_confirm(
        [m.version_id for m in view.models if not m.promoted], "model",
        nothing="Only the promoted model exists; nothing to go back to.",
        action="change the model in service", pick="promote", button="Promote",
        on_confirm=functools.partial(_promote, workspace, function),
        confirm=lambda target: f"Replace {current} with {target} in running processes",
    )


if __name__ == "__main__":
    main()
