"""A deterministic simulation of the outside world that serves the feed contract (shared/SOURCES.md).

World holds the registered locations and what they answered; render_feed gives a day's file
(World.versions every version of it); World.ground_truth says what each row really is;
SimulatorServer serves files and directory, with faults on demand from a FaultPlan and the
server-wide behaviours of ServerModes.
"""

from .councils import some_councils
from .faults import FaultKind, FaultPlan, FaultRule
from .files import FileMess, Variant, Version
from .mess import MessRates, MessTag
from .modes import Compression, HeadAnswer, ServerModes
from .render import RenderedFile, render_feed
from .routes import Request, Response
from .server import Exchange, Faults, SimulatorServer
from .table import RowTruth
from .timeline import publication_time
from .world import World

__all__ = [
    "Compression",
    "Exchange",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "Faults",
    "FileMess",
    "HeadAnswer",
    "MessRates",
    "MessTag",
    "RenderedFile",
    "Request",
    "Response",
    "RowTruth",
    "ServerModes",
    "SimulatorServer",
    "Variant",
    "Version",
    "World",
    "publication_time",
    "render_feed",
    "some_councils",
]
