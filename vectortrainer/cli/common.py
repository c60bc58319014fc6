"""What every command shares: the common options, the config and workspace they give, errors as
one line and an exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.cli.exit_codes import ExitCode, exit_code_for_error
from vectortrainer.cli.output import fail, stderr_console
from vectortrainer.config import Config, load_config
from vectortrainer.errors import VectorTrainerError, describe
from vectortrainer.workspace import Workspace


@dataclass(frozen=True)
class Option:
    """A flag more than one command takes, defined once, and the config key it overrides."""

    flag: str
    help: str
    metavar: str | None = None
    type: Callable[[str], object] | None = None
    config_key: str | None = None  # "hooks.dir": the flag's value replaces the config's
    switch: bool = False  # a store_true flag

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS = {option.flag: option for option in (
    Option("--config", "YAML config (see config.example.yaml)", "FILE", Path),
    Option("--store", "VectorWave Lite store directory", "PATH", Path, "store.path"),
    Option("--output-dir", "where runs are written", "DIR", Path, "output_dir"),
    Option("--function", "the decorated function to work on", "NAME", None, "selection.function"),
    Option("--max-budget", "refuse a fine-tune estimated above USD", "USD", float,
           "budget.max_budget_usd"),
    Option("--json", "machine-readable output on stdout", switch=True),
    Option("--hooks-dir", "hooks directory (default: hooks.dir)", "DIR", Path, "hooks.dir"),
    Option("--models-dir", "model registry (default: models.dir)", "DIR", Path, "models.dir"),
    Option("--feedback", "feedback JSONL (default: feedback.path)", "FILE", Path, "feedback.path"),
    Option("--epsilon", "neighbours have cosine similarity >= 1 - E; 'auto' (the default) "
           "chooses it from the logs", "E", None, "selection.epsilon"),
    Option("--top-k", "golden examples to pick in all", "K", int, "selection.top_k"),
)}
# What the top-level parser takes; a command may take them again after its name.
COMMON_FLAGS = ("--config", "--store", "--output-dir", "--function")
TOP_LEVEL_FLAGS = (*COMMON_FLAGS, "--max-budget", "--json")


def add_options(
    parser: argparse.ArgumentParser,
    *flags: str,
    top_level: bool = False,
    helps: Mapping[str, str] | None = None,
) -> None:
    """Add the shared options ``flags`` to ``parser``; ``helps`` (by dest) says it otherwise here.

    On a command's own parser a flag the top level also takes defaults to "not given", so
    ``vectortrainer --json runs`` and ``vectortrainer runs --json`` mean the same.
    """
    for flag in flags:
        option = OPTIONS[flag]
        default = None if top_level or flag not in TOP_LEVEL_FLAGS else argparse.SUPPRESS
        help_text = (helps or {}).get(option.dest, option.help)
        if option.switch:
            parser.add_argument(flag, action="store_true", help=help_text,
                                default=False if default is None else default)
        else:
            parser.add_argument(flag, type=option.type or str, metavar=option.metavar,
                                help=help_text, default=default)


def add_command(
    actions: argparse._SubParsersAction,
    name: str,
    help: str,
    handler: Callable[[argparse.Namespace], int],
    *flags: str,
    **helps: str,
) -> argparse.ArgumentParser:
    """A command ``name`` that runs ``handler`` and takes the common options and ``flags``."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help)
    add_options(parser, *COMMON_FLAGS[:3], *flags, helps=helps)
    parser.set_defaults(handler=handler)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """The config file (or defaults) with every flag given applied on top; its secrets are
    registered for redaction (the CLI's start-up)."""
    overrides = {option.config_key: getattr(args, option.dest, None)
                 for option in OPTIONS.values() if option.config_key}
    config = load_config(getattr(args, "config", None)).with_overrides(**overrides)
    config.register_secrets()
    return config


def workspace_from_args(args: argparse.Namespace, **overrides: object) -> Workspace:
    """The workspace over the config the flags describe (``overrides``: more dotted keys a
    command sets itself, e.g. ``{"feedback.semantic_screen": False}``; ``None`` is ignored)."""
    return Workspace(config_from_args(args).with_overrides(**overrides))


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; user errors become one line and an exit code, Ctrl-C becomes 130."""
    try:
        return int(handler(args))
    except VectorTrainerError as exc:
        return fail(describe(exc), exit_code_for_error(exc))
    except KeyboardInterrupt as exc:
        stderr_console.print(
            str(exc) or "interrupted", style="yellow", markup=False, soft_wrap=True
        )
        return int(ExitCode.INTERRUPTED)
