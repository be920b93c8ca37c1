"""The correspondence desk: what every notice and letter needs besides its event, handed to the core's use cases.

A use case that makes a letter when its event happens (a late fee, a payoff request, a case decision) takes a
`Correspondence`: where documents are kept, the letterhead, the servicer's country (whose addresses need no
country line), and the renderer. It is cheap to build from the settings; the renderer (WeasyPrint, its fonts)
is made only when a first document is rendered, once per process unless a caller hands its own, and renders
one document at a time (the console and the bot call it from several threads).
Importing this module imports no layout engine: the core's use cases can name it at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servicing.config import Settings
from servicing.documents.context import servicer_block

if TYPE_CHECKING:
    from servicing.documents.render import Rendered, Renderer


_ONE_AT_A_TIME = threading.Lock()  # the shared renderer's fonts and stylesheet are not shared between threads


@cache
def shared_renderer() -> Renderer:
    """Return this process's renderer, made on first use (never at import time)."""
    from servicing.documents.render import Renderer  # noqa: PLC0415 (WeasyPrint loads with the first document)

    return Renderer()


@dataclass(frozen=True)
class Correspondence:
    """Where letters are kept, the letterhead they carry and the renderer that lays them out."""

    root: Path
    servicer: dict[str, Any]
    home_country: str
    renderer: Renderer | None = None  # None: the process's shared renderer, made when first needed

    @classmethod
    def from_settings(cls, settings: Settings, renderer: Renderer | None = None) -> Correspondence:
        """Return the desk of a deployment's settings (documents directory, servicer's name, phone and address)."""
        servicer = servicer_block(settings.servicer_name, settings.servicer_phone, settings.servicer_address)
        return cls(settings.documents_dir, servicer, settings.country, renderer)

    def render(self, template: str, context: dict[str, Any], locale: str) -> Rendered:
        """Render a template to PDF in a borrower's locale."""
        if self.renderer is not None:
            return self.renderer.render(template, context, locale)
        with _ONE_AT_A_TIME:
            return shared_renderer().render(template, context, locale)
