"""What the errno tests against the engine share: make a socket, check a step failed
with a given errno, and explain it as the workbench does (the socket's snapshot,
evidence gathered now), checking the diagnosis against its schema on the way."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from support import ok

from workbench.core.diagnosis import Diagnosis
from workbench.core.errnos import lookup
from workbench.core.steps import Step
from workbench.io.engine import Engine
from workbench.io.evidence import diagnose_step

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "sessions" /
                     "diagnosis.schema.json").read_text())


def new(engine: Engine, family: str = "inet", type_: str = "stream", **extra: object) -> int:
    step = ok(engine.call("socket", family=family, type=type_, auto=False, **extra))
    return int(step.result["sock"])  # type: ignore[index]


def failed(step: Step, name: str) -> Step:
    assert step.error is not None and step.error.name == name, f"{step.describe()}: {step.error}"
    return step


def explain(engine: Engine, step: Step) -> Diagnosis:
    """The diagnosis as the workbench makes it: the socket's snapshot, evidence now."""
    info = engine.socket_info(step.sock) if step.sock is not None else None
    d = diagnose_step(step, info.family if info else "", info.type if info else "",
                      blocking=info.blocking if info else None,
                      local=info.local if info else "", state=info.state if info else "")
    assert d.name == step.error.name  # type: ignore[union-attr]
    family = info.family if info else str(step.args.get("family", ""))
    assert (d.meaning, d.hint) == lookup(d.name).for_call(step.op, family) or d.cancelled
    jsonschema.validate(json.loads(json.dumps(d.to_json())), SCHEMA)
    return d


def cause(d: Diagnosis) -> str:
    assert d.cause is not None and d.cause.evidence, d.causes
    return d.cause.text
