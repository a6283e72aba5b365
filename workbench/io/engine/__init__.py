"""The engine: real sockets, one actor thread each, every call recorded as a step.

`api` holds the Engine (public calls, the socket registry, recording), `actor` the
per-socket loop, `handlers` one function per op, `pump` auto-receive and auto-accept,
`live` the socket record, `events` what subscribers are told, `backoff` auto-accept
paused while the descriptors run out.
"""

from workbench.io.engine.api import Engine
from workbench.io.engine.events import (
    Call,
    CallStarted,
    EngineEvent,
    Listener,
    SocketChanged,
    SocketInfo,
    StepDone,
)

__all__ = ["Call", "CallStarted", "Engine", "EngineEvent", "Listener", "SocketChanged",
           "SocketInfo", "StepDone"]
