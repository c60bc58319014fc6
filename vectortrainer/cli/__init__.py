"""Command line: the TUI by default, `--batch` for headless runs, and subcommands.

Exit codes are an API (documented in the README):
0 success, 1 run failed, 2 usage or config error, 3 budget exceeded (nothing
uploaded), 4 training job failed or cancelled, 5 trained but not promoted (the
evaluation gate kept the model out of service), 6 another loop cycle is running,
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vectortrainer.cli.common import TOP_LEVEL_FLAGS, add_options, config_from_args, run_guarded
from vectortrainer.cli.exit_codes import ExitCode
from vectortrainer.cli.output import fail
from vectortrainer.workspace import offline_defaults, quiet_environment

# Each module registers its own subcommand(s) with `register(subparsers)`.
SUBCOMMAND_MODULES = (
    "vectortrainer.cli.demo",
    "vectortrainer.cli.select",
    "vectortrainer.cli.runs",
    "vectortrainer.cli.providers",
    "vectortrainer.cli.rules",
    "vectortrainer.cli.hooks",
    "vectortrainer.cli.models",
    "vectortrainer.cli.loop",
    "vectortrainer.cli.web",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vectortrainer",
        description="Golden data, rule hooks and budgeted fine-tuning from VectorWave logs.",
        epilog="Without a subcommand, opens the full-screen app (or runs headless with --batch).",
    )
    add_options(parser, *TOP_LEVEL_FLAGS, top_level=True,
                helps={"json": "print a machine-readable summary on stdout"})
    parser.add_argument("--batch", action="store_true",
                        help="run the whole pipeline headless (no TUI)")
    parser.add_argument("--yes", action="store_true",
                        help="approve the training cost without asking (within --max-budget)")
    parser.add_argument("--resume", metavar="RUN_ID",
                        help="resume the run RUN_ID found in the output directory")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything imports transformers / huggingface_hub / tqdm: they read these once.
    quiet_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is not None:
        return run_guarded(args.handler, args)
    if args.batch:
        try:
            batch = importlib.import_module("vectortrainer.cli.batch")
        except ModuleNotFoundError:
            return fail("--batch is not available in this build", ExitCode.USAGE)
        return run_guarded(batch.run_batch, args)
    return _open_app(args)


def _open_app(args: argparse.Namespace) -> int:
    """Start the Textual app (a face: imported only here, never by the engine)."""
    try:
        app_module = importlib.import_module("tui.app")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("tui"):
            return fail(
                "the terminal app is not installed in this build; try `vectortrainer --help`",
                ExitCode.USAGE,
            )
        raise
    # With no config file and no key the demo trains SmolLM2 locally instead of stopping for one.
    return run_guarded(
        lambda parsed: app_module.run_app(offline_defaults(config_from_args(parsed))), args
    )


if __name__ == "__main__":
    sys.exit(main())
