"""Sessions for the export tests: the examples, and small ones built step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.ops import normalise
from workbench.core.session import PeerSpec, Session
from workbench.core.steps import Step, StepError
from workbench.io.sessionfile import load_session

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ROOT / "sessions"
EXAMPLES = sorted(p for p in SESSIONS.glob("*.json") if not p.name.endswith(".schema.json"))


def example(name: str) -> Session:
    return load_session(SESSIONS / f"{name}.json")


def step(op: str, sock: int | None = None, result: dict[str, Any] | None = None,
         error: str = "", auto: bool = False, **args: Any) -> Step:
    """A recorded step: arguments normalised as the engine records them."""
    failed = StepError(error, 0, error) if error else None
    return Step(op, sock, args if auto else normalise(op, args), auto=auto, result=result,
                error=failed)


def built(*steps: Step, peers: tuple[str, ...] = ()) -> Session:
    """A session of these steps, started 1 ms apart in the order given."""
    session = Session(peers=[PeerSpec(name, "echo") for name in peers], title="built")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session
