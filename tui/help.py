"""Help: the keys of every screen and the whole loop, step by step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown

HELP_TEXT = """\
## The loop, step by step

1. **Dataset (F2)** — pick a function with ↑/↓, set *epsilon* (how close two logs must be
   to count as neighbours) and *top-k* (enter in either applies it), press **s** to select
   golden data, then **e** to export it as ChatML JSONL. With no store yet, press **d** to
   seed the demo store.
2. **Feedback (F3)** — choose the function (**f**), pick a log (enter), write the output it
   *should* have given, press **F7** to save the pair. **e** edits and **x** deletes the
   selected pair (tab moves there).
3. **Rules (F4)** — **s** synthesises rules from the feedback. For each conflict choose
   **1** keep A, **2** keep B, **3** keep both with A applied first (A only where its own
   pairs' context says so, B everywhere else) or **4** both with B first; **g** generates
   a new hook version.
4. **Training (F5)** — **t** estimates the cost and asks for approval (the budget modal);
   approve with **a**, then follow stages, loss and job events. **c** cancels (asks first),
   **r** resumes a run found in the output directory.
5. **Hooks (F6)** — versions with their checksums; the diff against the active version is
   shown for the selected row; **b** rolls back to it (asks first). **i** folds or unfolds
   the "In service" panel (folded on short terminals), **m** promotes the selected model,
   **x** stops a running canary (asks first; the promoted model then serves every call).

**Any row in full:** **o** opens the selected row of a table (a golden pick, a log, a pair,
a rule with its supporting pairs, a conflict's two rules, a hook version, a model) in a
scrollable view; **enter** does the same where it has no other meaning (on a function it
selects, on a log it starts a correction). **c** copies it, **escape** closes it.

The keys of the screen you are on are in the footer at the bottom; when the terminal is too
narrow for all of them, the footer keeps the main ones (all are here and in ctrl+p).

## Everywhere

| key | does |
|---|---|
| F1 or ? | this help |
| F2 … F6 | dataset, feedback, rules, training, hooks |
| ctrl+p | command palette (its commands follow the screen) |
| F9 | light / dark theme |
| F10 or ctrl+q | quit |
| tab / shift+tab | move between fields |
| escape | close a dialog |

Errors appear as red notifications in the corner; the full details are in
`<output_dir>/tui.log`.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and the loop."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss_help", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Label("VectorTrainer — help (escape closes)", classes="dialog-title")
            yield Markdown(HELP_TEXT)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
