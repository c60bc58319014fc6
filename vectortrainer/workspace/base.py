"""What every group of use cases shares: the workspace it works over."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vectortrainer.workspace.core import Workspace


class UseCases:
    """Use cases over one workspace; they read its config at each call (a face may replace it)."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
