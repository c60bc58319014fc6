"""Dataset selection: functions in the store, epsilon / top-k, golden candidates, histogram,
export."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Header, Input, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.base import ModeScreen
from screens.detail import DetailScreen, log_sections
from tui.widgets import DensityHistogram, WideTable, cell, cursor_key
from tui.workers import in_background
from tui.workspace import SelectionView
from vectortrainer.display import hover_text
from vectortrainer.errors import PipelineCancelled, VectorTrainerError
from vectortrainer.workspace.types import AUTO, ExtractionReport, FunctionSummary, SelectionSettings

NO_STORE_TEXT = (
    "[b]No VectorWave store yet[/b] at [i]{path}[/i].\n\n"
    # Paragraphs without hard line breaks: they wrap to the panel at any width.
    "A store fills up when functions decorated with VectorWave's "
    "[b]@vectorize(capture_inputs=True, capture_return_value=True)[/b] are called after "
    "[b]vectortrainer.quickstart.log_to(\"{path}\")[/b] (the README's \"Your own app\"), "
    "or from the shell: [b]vectortrainer demo seed --store {path}[/b]\n\n"
    "Press [b]d[/b] to seed the demo store here now: it calls the demo functions ~700 times "
    "through VectorWave (a few minutes; progress shows below)."
)


class Progressed(Message):
    """Work done so far by a worker (a newer one replaces a queued older one)."""

    def __init__(self, done: int, total: int, what: str) -> None:
        super().__init__()
        self.done, self.total, self.what = done, total, what

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progressed)


class SelectionDone(Message):
    def __init__(self, view: SelectionView) -> None:
        super().__init__()
        self.view = view


class DatasetScreen(ModeScreen):
    """Pick golden data for one function and export it as ChatML JSONL."""

    MODE_NAME = "Dataset"
    BINDINGS = [
        Binding("s", "select", "Select", id="dataset.select"),
        Binding("e", "export", "Export", id="dataset.export"),
        Binding("d", "seed_demo", "Seed demo store", id="dataset.seed"),
        Binding("r", "reload", "Reload", id="dataset.reload"),
        Binding("o", "open_detail", "Open", id="dataset.open", tooltip="Open the row in full"),
        Binding("escape", "cancel", "Cancel", show=False, id="dataset.cancel"),
    ]
    # Enter on a function selects from it; on a golden pick it opens the pick in full.
    ENTER_OPENS = frozenset({"candidates"})
    DETAIL_TABLE = "candidates"
    FOOTER_KEEP = ("select", "export", "open_detail")
    busy: reactive[bool] = reactive(False)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="dataset-body"):
            with Vertical(id="dataset-left", classes="panel"):
                yield Label("Functions", classes="panel-title", id="functions-title")
                yield Static("", id="store-status")
                yield Static("", id="no-store")
                yield WideTable(id="functions", flex={"function": 1}, min_width=12,
                                cursor_type="row", zebra_stripes=True)
                with Horizontal(id="selection-params"):
                    yield Label("epsilon")
                    # No character filter: a filter drops what it refuses without a word (it
                    # turned "1e-3" into "13"); the value is checked when it is applied.
                    yield Input(id="epsilon", compact=True, placeholder="auto")
                    yield Label("top-k")
                    yield Input(id="top-k", compact=True)
                with Horizontal(classes="buttons"):
                    yield Button("Select golden (s)", id="select-button", variant="primary")
                    yield Button("Export JSONL (e)", id="export-button")
                yield ProgressBar(id="work-progress", show_eta=True)
                yield Static("", id="work-status")
            with Vertical(id="dataset-right", classes="panel"):
                yield Label("Golden candidates", classes="panel-title", id="candidates-title")
                yield WideTable(id="candidates", flex={"input": 2, "output": 3},
                                cursor_type="row", zebra_stripes=True)
                yield Label("Density of all usable logs", classes="panel-title")
                yield DensityHistogram(id="histogram")
                with VerticalScroll(id="coverage"):
                    yield Static("", id="skipped")
        yield self.footer()

    def on_mount(self) -> None:
        super().on_mount()
        config = self.workspace.config.selection
        self.query_one("#epsilon", Input).value = (config.epsilon if isinstance(config.epsilon, str)
                                                    else f"{config.epsilon:g}")
        self.query_one("#top-k", Input).value = str(config.top_k)
        self.query_one("#functions", WideTable).add_named_columns(
            "function", "logs", "ok", "new", "fail", "vec"
        )
        self.query_one("#candidates", WideTable).add_named_columns(
            "strategy", "density", "input", "output"
        )
        self.query_one("#work-progress", ProgressBar).display = False
        self.watch(self.vt_app, "store_state", self._show_store_state)
        self.watch(self.vt_app, "functions", self._show_functions)
        if self.vt_app.selection is not None:
            self._show_selection(self.vt_app.selection)

    # -- store state ----------------------------------------------------------------
    def _show_store_state(self, state: str) -> None:
        absent = state == "absent"
        self.query_one("#no-store", Static).display = absent
        self.query_one("#functions").display = state not in ("absent", "seeding")
        if absent:
            self.query_one("#no-store", Static).update(
                NO_STORE_TEXT.format(path=self.workspace.store_path)
            )
        status = {
            "loading": "[yellow]⏳ Opening the VectorWave store…[/]",
            "seeding": (
                "[yellow]⏳ Seeding the demo store (progress "
                "below); the functions appear when it is done.[/]"
            ),
            "error": (
                "[red]The store could not be opened: "
                f"{self.vt_app.store_error}[/]  Press r to retry."
            ),
            "ready": "",
        }.get(state, "")
        self.query_one("#store-status", Static).update(status)
        self.query_one("#store-status", Static).display = bool(status)
        self.refresh_bindings()

    def _show_functions(self, functions: tuple[FunctionSummary, ...]) -> None:
        table = self.query_one("#functions", DataTable)
        table.clear()
        for summary in functions:
            table.add_row(
                cell(summary.name), summary.total, summary.success, summary.anomaly, summary.failed,
                summary.with_vector, key=summary.name,
            )
        wanted = self.vt_app.current_function
        if wanted and wanted in {s.name for s in functions}:
            table.move_cursor(row=table.get_row_index(wanted))

    def on_screen_resume(self) -> None:
        """The function may have been switched on another screen: the cursor follows it."""
        table = self.query_one("#functions", DataTable)
        wanted = self.vt_app.current_function
        if wanted is not None and wanted in {str(key.value) for key in table.rows}:
            table.move_cursor(row=table.get_row_index(wanted))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.vt_app.store_state
        if action == "seed_demo":
            return state == "absent"
        if action in ("select", "reload"):
            return state in ("ready", "error") if action == "reload" else state == "ready"
        if action == "export":
            return self.vt_app.selection is not None or None
        return True

    # -- selection ---------------------------------------------------------------------
    def _chosen_function(self) -> str | None:
        return cursor_key(self.query_one("#functions", DataTable))

    def _params(self) -> SelectionSettings | None:
        try:
            return self.workspace.golden.settings(self.query_one("#epsilon", Input).value,
                                                     self.query_one("#top-k", Input).value)
        except VectorTrainerError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return None

    @on(Button.Pressed, "#select-button")
    def action_select(self) -> None:
        name = self._chosen_function()
        params = self._params()
        if name is None:
            self.notify("No function to select from: the store lists none yet.", severity="warning")
            return
        if params is None:
            return
        self.vt_app.current_function = name
        self._start_progress(f"Reading and scoring the logs of {name}… (Esc cancels)")
        self._run_selection(name, params)

    @on(DataTable.RowHighlighted, "#functions")
    def _function_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            name = str(event.row_key.value)
            self.vt_app.current_function = name
            # The whole name, which a narrow column cuts with "…" (two may share a long prefix).
            self.query_one("#functions-title", Label).update(Text(f"Functions · {name}"))

    @on(DataTable.RowSelected, "#functions")
    def _function_chosen(self, event: DataTable.RowSelected) -> None:
        self.vt_app.current_function = str(event.row_key.value)
        self.action_select()

    @on(Input.Submitted, "#epsilon, #top-k")
    def _settings_entered(self) -> None:
        """Enter in epsilon or top-k applies it: the selection runs again with the value."""
        if self.check_action("select", ()):
            self.action_select()
        else:
            self.notify("The store is not open yet: the value applies on the next selection (s).",
                        severity="warning")

    @in_background("selection", "golden selection")
    def _run_selection(self, name: str, settings: SelectionSettings) -> None:
        worker = get_current_worker()

        def on_stage(stage: str, done: int, total: int) -> None:
            if worker.is_cancelled:  # stop reading / scoring at the next batch
                raise PipelineCancelled(f"selection of {name} cancelled")
            self.post_message(
                Progressed(
                    done, total, {"read": "logs read", "density": "density"}.get(stage, stage)
                )
            )

        try:
            view = self.workspace.golden.select(name, settings, on_stage=on_stage)
        except PipelineCancelled:
            return
        if not worker.is_cancelled:
            self.post_message(SelectionDone(view))

    def _start_progress(self, status: str) -> None:
        bar = self.query_one("#work-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#work-status", Static).update(status)

    def _stop_progress(self, status: str) -> None:
        self.query_one("#work-progress", ProgressBar).display = False
        self.query_one("#work-status", Static).update(status)

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.query_one("#work-progress", ProgressBar).update(
            total=message.total or None, progress=message.done
        )
        if message.what:
            self.query_one("#work-status", Static).update(
                f"{message.what} ({message.done}/{message.total})"
            )

    @on(SelectionDone)
    def _selection_done(self, message: SelectionDone) -> None:
        self.vt_app.selection = message.view
        self._show_selection(message.view)
        view = message.view
        steady = sum(1 for c in view.candidates if c.strategy == "steady")
        self._stop_progress(
            f"{len(view.candidates)} picked from {view.total} logs of {view.function}: "
            f"{steady} steady, {len(view.candidates) - steady} anomaly. Press e to export."
        )
        self.refresh_bindings()

    def _show_selection(self, view: SelectionView) -> None:
        table = self.query_one("#candidates", DataTable)
        table.clear()
        records = {record.uuid: record for record in view.logs.records}
        for candidate in view.candidates:
            style = "cyan" if candidate.strategy == "steady" else "magenta"
            record = records.get(candidate.uuid)
            # The whole text, cut at the column's edge (the previews stop at a fixed length)
            shown_input = hover_text(record.inputs, 400) if record else candidate.input_preview
            shown_output = hover_text(record.output, 400) if record else candidate.output_preview
            table.add_row(
                Text(candidate.strategy, style=style), f"{candidate.density:.2f}",
                cell(shown_input), cell(shown_output), key=candidate.uuid,
            )
        self.query_one("#candidates-title", Label).update(
            f"Golden candidates — {view.function} ({len(view.candidates)})"
        )
        self.query_one("#histogram", DensityHistogram).values = tuple(view.densities)
        skipped = ", ".join(
            f"{count} {reason}" for reason, count in sorted(view.skipped.items()) if count
        )
        lines = [
            f"Left out of density: {skipped}" if skipped else "Every log took part in density."
        ]
        if view.coverage is not None:
            how = "chosen from the logs" if view.settings.epsilon == AUTO else "as set"
            lines.insert(
                0, f"epsilon {view.coverage.epsilon:.3g} ({how}) · {view.coverage.lines()[0]}"
            )
            lines += [line for line in view.coverage.lines()[1:-1]]
        self.query_one("#skipped", Static).update(Text("\n".join(lines)))

    def action_cancel(self) -> None:
        """Esc: stop a running selection at its next batch; nothing is exported."""
        running = [
            w
            for w in self.workers
            if w.node is self
            and w.group == "selection"
            and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        for worker in running:
            worker.cancel()
        if running:
            self._stop_progress("Selection cancelled; nothing was exported.")

    @on(Worker.StateChanged)
    def _worker_ended(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.CANCELLED and event.worker.group == "selection":
            self._stop_progress("Selection cancelled; nothing was exported.")
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._stop_progress(f"{event.worker.description} did not finish.")

    # -- export ---------------------------------------------------------------------------
    @on(Button.Pressed, "#export-button")
    def action_export(self) -> None:
        view = self.vt_app.selection
        if view is None:
            self.notify("Select golden data first (s).", severity="warning")
            return
        self._export(view)

    @in_background("export", "export")
    def _export(self, view: SelectionView) -> None:
        report = self.workspace.golden.export(view.function, settings=view.settings)
        self.app.call_from_thread(self._exported, report)

    def _exported(self, report: ExtractionReport) -> None:
        path = Path(report.output_path)
        self.vt_app.exported_path = path
        self.vt_app.exported_function = report.function_name
        valid = (
            "valid ChatML"
            if report.validation.ok
            else f"{len(report.validation.problems)} problem(s)"
        )
        self.query_one("#work-status", Static).update(
            f"Exported {report.examples} examples to {path} ({valid}). F5 goes to training."
        )
        self.notify(f"Wrote {report.examples} examples to {path}", title="Exported")

    # -- store ----------------------------------------------------------------------------
    def action_reload(self) -> None:
        self.vt_app.refresh_store()

    def action_seed_demo(self) -> None:
        self._start_progress("Seeding the demo store: calling the demo functions for real…")
        self.vt_app.store_state = "seeding"
        self._seed()

    @in_background("store", "seeding the demo store")
    def _seed(self) -> None:
        worker = get_current_worker()

        def progress(done: int, total: int, what: str = "") -> None:
            if not worker.is_cancelled:
                self.post_message(Progressed(done, total, what or "logs written"))

        self.workspace.seed_demo(progress=progress)
        self.app.call_from_thread(self._seeded)

    def _seeded(self) -> None:
        self._stop_progress("Demo store seeded.")
        self.vt_app.refresh_store()

    # -- rows in full ---------------------------------------------------------------------
    def row_detail(self, table: DataTable) -> DetailScreen | None:
        key = cursor_key(table)
        if table.id == "functions":
            summary = next((f for f in self.vt_app.functions if f.name == key), None)
            return None if summary is None else _function_detail(summary)
        view = self.vt_app.selection
        if view is None:
            return None
        index, candidate = next(
            ((i, c) for i, c in enumerate(view.candidates) if c.uuid == key), (None, None)
        )
        record = next((r for r in view.logs.records if r.uuid == key), None)
        if index is None or candidate is None or record is None:
            return None
        return DetailScreen(
            f"Golden pick {index + 1} of {len(view.candidates)} — {view.function}: "
            f"{candidate.strategy}, density {candidate.density:.2f}",
            log_sections(record),
        )


def _function_detail(summary: FunctionSummary) -> DetailScreen:
    counts = [
        ("logs in the store", summary.total),
        ("successful (ok)", summary.success),
        ("new patterns (anomaly status)", summary.anomaly),
        ("failed", summary.failed),
        ("with a vector (take part in density)", summary.with_vector),
        ("with captured inputs", summary.with_inputs),
        ("replayed calls (VectorWave's replayer; counted above too)", summary.replayed),
    ]
    return DetailScreen(
        f"Function {summary.name}",
        [("name", summary.name), ("logs", "\n".join(f"{label}: {n}" for label, n in counts))],
    )
