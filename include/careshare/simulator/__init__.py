"""A deterministic simulation of the outside world that serves the feed contract (shared/SOURCES.md).

World holds the registered locations and what they answered; render_feed gives a day's file;
World.ground_truth says what each row really is; SimulatorServer serves files and directory.
"""

from .mess import MessRates, MessTag
from .render import RenderedFile, render_feed
from .routes import Request, Response
from .server import Faults, SimulatorServer
from .table import RowTruth
from .timeline import publication_time
from .world import World

__all__ = [
    "Faults",
    "MessRates",
    "MessTag",
    "RenderedFile",
    "Request",
    "Response",
    "RowTruth",
    "SimulatorServer",
    "World",
    "publication_time",
    "render_feed",
]
