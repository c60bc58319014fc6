"""`vectortrainer select`: golden data -> ChatML JSONL, with a Rich summary."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    select = subparsers.add_parser("select", help="pick golden data and write ChatML JSONL")
    select.set_defaults(handler=lambda args: 0)
