"""Replay: run a saved session on live sockets and compare what comes back.

User steps run in their recorded order. Before each one, replay waits (bounded by
the timeout) until every socket has received what it had received at that point of
the recording, so request/response exchanges keep their order. Auto steps are not
re-run: the engine pumps the sockets itself, and what it records is compared with
the recording at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.core.compare import (
    Expected,
    Mismatch,
    compare_datagrams,
    compare_events,
    compare_outcome,
    compare_stream,
    join_kept,
)
from workbench.core.errnos import from_oserror
from workbench.core.errors import InputError
from workbench.core.ops import created_sockets
from workbench.core.raw_approval import replay_refusal
from workbench.core.session import PeerSpec, Session
from workbench.core.session_checks import check_references, check_total
from workbench.core.sockstate import Kind, kind_of
from workbench.core.steps import NotKept, Step, payload_bytes
from workbench.io.engine import Engine, EngineEvent, StepDone
from workbench.io.evidence import diagnose_recorded
from workbench.io.peerset import check_loopback, started_peers

MAX_WAIT = 60.0  # the default bound of a wait step or an expect timeout in a replay
MAX_DIAGNOSED = 10  # failed steps explained with live evidence in one replay
OWN_WAIT = {"wait": "seconds", "expect": "timeout"}  # ops that wait by their own argument


@dataclass
class ReplayReport:
    target: str
    mismatches: list[Mismatch] = field(default_factory=list)
    steps_run: int = 0  # calls run: the user steps (the engine makes the auto ones anew)
    steps: int = 0  # steps in the recording, auto ones included
    duration: float = 0.0
    live: Session | None = None
    diagnoses: list[dict[str, Any]] = field(default_factory=list)  # Diagnosis.to_finding

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        """The findings form shared by every headless command."""
        return {
            "operation": "replay",
            "target": self.target,
            "address": "",
            "status": "match" if self.ok else "mismatch",
            "findings": [m.to_json() for m in self.mismatches] + self.diagnoses,
            "recommendations": [] if self.ok else [
                "look at the first mismatch: later ones often follow from it",
                *self._fixes_seen(),
            ],
            "artifacts": [{"steps": self.steps, "calls_run": self.steps_run,
                           "steps_run": self.steps_run, "duration": round(self.duration, 3)}],
        }


    def _fixes_seen(self) -> list[str]:
        """The fixes the diagnoses rest on evidence for: `step N: …`, each once."""
        fixes = [f"step {d.get('step')}: {f['text']}" for d in self.diagnoses
                 for f in d["diagnosis"]["fixes"] if f["evidence"]]
        return list(dict.fromkeys(fixes))


class Tally:
    """What each socket has received so far, step by step. Thread-safe."""

    def __init__(self) -> None:
        self.by_sock: dict[int, Expected] = {}
        self._lock = threading.Lock()

    def add(self, step: Step) -> None:
        with self._lock:
            _note_sockets(step, self.by_sock)
            if step.op in ("recv", "recvfrom") and step.sock is not None:
                _note_received(step, self.by_sock.setdefault(step.sock, Expected()))

    def get(self, sock: int) -> Expected:
        with self._lock:
            exp = self.by_sock.get(sock, Expected())
            return Expected(exp.stream, list(exp.chunks), list(exp.events))


def _note_received(step: Step, exp: Expected) -> None:
    if step.error is not None:
        if step.auto:
            exp.events.append(step.error.name)
    elif step.result and not step.result.get("peek"):
        if step.result.get("eof"):
            exp.events.append("eof")
        else:
            data = step.result.get("data")
            exp.chunks.append(data if isinstance(data, NotKept) else step.data)


def _note_sockets(step: Step, expected: dict[int, Expected]) -> None:
    """Each socket the step made gets its tally: joined bytes if connection-oriented."""
    made = created_sockets(step)
    if not made:
        return
    kind = Kind.STREAM if step.op == "accept" else kind_of(str(step.args.get("type", "stream")))
    for sid in made:
        expected[sid] = Expected(stream=kind.connected_kind)


class Replayer:
    def __init__(self, recorded: Session, engine: Engine, timeout: float,
                 allow_raw: bool = False) -> None:
        self.recorded = recorded
        self.allow_raw = allow_raw  # --allow-raw approves every raw and packet socket
        self.engine = engine
        self.timeout = timeout
        self.ids: dict[int, int] = {}  # recorded socket id -> live socket id
        self.lagging: set[int] = set()  # sockets that already missed a deadline
        self.report = ReplayReport("")
        self.live = Tally()  # fed by `on_event` as the engine records steps
        self.progress = Tally()  # what the recording had received by the current step
        # Steps running beside later ones: (step, thread, [its outcome once done]).
        self._beside: list[tuple[Step, threading.Thread | None, list[Step | Exception]]] = []

    def on_event(self, event: EngineEvent) -> None:
        """Subscribe this to the engine: the live tally follows what it records."""
        if isinstance(event, StepDone):
            self.live.add(event.step)

    def run(self) -> list[Mismatch]:
        for _step in self.iter_steps():
            pass
        return self.finish()

    def iter_steps(self) -> Iterator[tuple[Step, Step | None]]:
        """Run the user steps one at a time, yielding each with its live twin.

        A call still in progress when a later user step started (an accept that a later
        connect completed, a recv that a later send answered) runs beside the steps
        that follow, as it did; each step waits for those the recording had finished
        before it started, so sockets are made, and numbered, in the recorded order."""
        accepts: dict[int, int] = {}  # recorded listener -> accepts seen so far
        ordered = self.recorded.ordered()
        for i, step in enumerate(ordered):
            if step.op == "accept" and step.ok and step.sock is not None:
                accepts[step.sock] = accepts.get(step.sock, 0) + 1
            if step.auto:
                if step.op == "accept" and step.ok and step.result and step.sock in self.ids:
                    self._map_accept(step, accepts[step.sock])
                self.progress.add(step)
                continue
            yield from self._settle(step.t)
            self._wait_for(self.progress.by_sock)
            later = next((s for s in ordered[i + 1:] if not s.auto), None)
            if later is not None and later.t < step.t + step.dur:
                self._start_beside(step)
            else:
                yield step, self._run_user_step(step)
            self.progress.add(step)
        yield from self._settle(math.inf)

    def _start_beside(self, step: Step) -> None:
        """Start a user step in a thread (the engine call blocks) and go on."""
        live_sock = self._live_sock(step)
        if step.sock is not None and live_sock is None:
            self._beside.append((step, None, []))
            return
        args, out = self._live_args(step), []
        thread = threading.Thread(target=lambda: out.append(self._call(step, live_sock, args)),
                                  name=f"replay-step-{step.seq}", daemon=True)
        thread.start()
        self._beside.append((step, thread, out))

    def _settle(self, before: float) -> Iterator[tuple[Step, Step | None]]:
        """Finish the steps running beside others that the recording had finished by
        `before`; each call is bounded by its timeout. Yields each with its live twin."""
        for item in [b for b in self._beside if b[0].t + b[0].dur <= before]:
            self._beside.remove(item)
            step, thread, out = item
            if thread is not None:
                cancelled = step.error is not None and step.error.name == "EINTR"
                if cancelled and thread.is_alive() and step.sock in self.ids:
                    self.engine.cancel_pending(self.ids[step.sock])  # cancelled here, as then
                thread.join()
            yield step, self._outcome(step, out[0]) if out else None

    def finish(self) -> list[Mismatch]:
        """Wait for the last expected bytes, then compare everything received."""
        self._wait_for(self.progress.by_sock)
        return self.report.mismatches + self._compare_received(self.progress.by_sock)

    def _map_accept(self, step: Step, k: int) -> None:
        """The k-th accept on a recorded listener is the k-th accept on the live one."""
        live_listener = self.ids[step.sock]
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            accepts = [s for s in self.engine.steps()
                       if s.op == "accept" and s.sock == live_listener and s.ok]
            if len(accepts) >= k:
                self.ids[step.result["sock"]] = accepts[k - 1].result["sock"]
                return
            time.sleep(0.002)
        self.report.mismatches.append(Mismatch(
            "missing", f"step {step.seq}: listener #{step.sock} accepted no connection "
            f"#{k} within {self.timeout} s", step=step.seq, sock=step.sock))

    def _live_args(self, step: Step) -> dict[str, Any]:
        args = {k: payload_bytes(v) if k == "data" else v for k, v in step.args.items()}
        address = str(args.get("address", ""))
        if address.startswith("sock:") and address[5:].isdigit():
            args["address"] = f"sock:{self.ids.get(int(address[5:]), int(address[5:]))}"
        if step.op == "socket":
            # A file's recorded yes is the recorder's, not this person's: only
            # --allow-raw (or its like in the app) approves a raw or packet socket here.
            args["approved"] = self.allow_raw
        return args

    def _live_sock(self, step: Step) -> int | None:
        """The live twin of the step's socket; None, and a mismatch, when there is none."""
        live_sock = self.ids.get(step.sock) if step.sock is not None else None
        if step.sock is not None and live_sock is None:
            self.report.mismatches.append(Mismatch(
                "missing", f"step {step.seq} {step.describe()}: socket #{step.sock} "
                "does not exist in the replay", step=step.seq, sock=step.sock))
        return live_sock

    def _call(self, step: Step, live_sock: int | None,
              args: dict[str, Any]) -> Step | Exception:
        within = self.timeout + float(step.args.get(OWN_WAIT.get(step.op, ""), 0) or 0)
        try:
            return self.engine.call(step.op, live_sock, within=within, **args)
        except (TimeoutError, InputError) as exc:
            return exc

    def _run_user_step(self, step: Step) -> Step | None:
        live_sock = self._live_sock(step)
        if step.sock is not None and live_sock is None:
            return None
        return self._outcome(step, self._call(step, live_sock, self._live_args(step)))

    def _outcome(self, step: Step, live: Step | Exception) -> Step | None:
        """Map the sockets a step made and compare its outcome with the recording."""
        if isinstance(live, Exception):
            self.report.mismatches.append(Mismatch("outcome", f"step {step.seq}: {live}",
                                                   step=step.seq, sock=step.sock))
            return None
        self.report.steps_run += 1
        self._map_result(step, live)
        diff = compare_outcome(step, live)
        if diff is not None:
            self.report.mismatches.append(_explained(diff, step, live))
            if live.error is not None and len(self.report.diagnoses) < MAX_DIAGNOSED:
                # why it failed this time, with evidence seen now (a port's holder is
                # still there): a second or so, so only the first few
                found = diagnose_recorded(self.engine, live)
                self.report.diagnoses.append(found.to_finding(step.seq, step.sock))
        return live

    def _map_result(self, step: Step, live: Step) -> None:
        if not (step.ok and live.ok and step.result and live.result):
            return
        if "sock" in step.result and "sock" in live.result:
            self.ids[step.result["sock"]] = live.result["sock"]
        for rec, got in zip(step.result.get("socks", []), live.result.get("socks", []),
                            strict=False):
            self.ids[rec] = got

    def _wait_for(self, targets: dict[int, Expected]) -> None:
        """Wait until each live socket has what its recorded twin had (bounded)."""
        for rec_id, want in targets.items():
            live_id = self.ids.get(rec_id)
            if live_id is None or rec_id in self.lagging or not (want.count() or want.events):
                continue
            deadline = time.monotonic() + self.timeout
            while not self._caught_up(live_id, want):
                if time.monotonic() >= deadline:
                    self.lagging.add(rec_id)
                    break
                time.sleep(0.002)

    def _caught_up(self, live_id: int, want: Expected) -> bool:
        got = self.live.get(live_id)
        if got.events and len(got.events) >= len(want.events):
            return True  # the connection ended: nothing more will come
        return got.count() >= want.count() and len(got.events) >= len(want.events)

    def _compare_received(self, recorded: dict[int, Expected]) -> list[Mismatch]:
        out: list[Mismatch] = []
        for rec_id, want in sorted(recorded.items()):
            got = self.live.get(self.ids.get(rec_id, -1))
            if want.stream:
                diff = compare_stream(rec_id, *join_kept(want.chunks, got.chunks))
            else:
                diff = compare_datagrams(rec_id, want.chunks, got.chunks)
            diff = diff or compare_events(rec_id, want.events, got.events)
            if diff is not None:
                out.append(diff)
        return out


def _explained(diff: Mismatch, step: Step, live: Step) -> Mismatch:
    """A socket refused for want of privilege says why and what to do instead (the
    engine's message holds it: CAP_NET_RAW, ping sockets)."""
    if step.op != "socket" or live.error is None or live.error.name not in ("EPERM", "EACCES"):
        return diff
    return dataclasses.replace(diff, message=f"{diff.message} ({live.error.message})")


def check_limits(recorded: Session, timeout: float = 5.0, max_wait: float = MAX_WAIT,
                 allow_public_peers: bool = False, allow_raw: bool = False) -> None:
    """Bad input, before anything starts: peers beyond loopback, waits over max_wait,
    raw or packet sockets without --allow-raw."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise InputError(f"timeout {timeout} must be a positive number: use e.g. --timeout 5")
    if not (math.isfinite(max_wait) and max_wait >= 0):
        raise InputError(f"max wait {max_wait} must be 0 or more: use e.g. --max-wait 60")
    if not allow_public_peers:
        check_loopback(recorded.peers)
    refusal = None if allow_raw else replay_refusal(recorded.steps)
    if refusal is not None:
        raise InputError(refusal)
    check_references(recorded.steps, [p.name for p in recorded.peers])
    check_total(recorded.steps)
    for step in recorded.steps:
        key = OWN_WAIT.get(step.op, "")
        seconds = float(step.args.get(key, 0) or 0) if key and not step.auto else 0.0
        if seconds > max_wait:
            what = "a wait" if step.op == "wait" else "an expect timeout"
            raise InputError(f"step {step.seq}: {what} of {seconds:g} s is over --max-wait "
                             f"{max_wait:g}: pass --max-wait {seconds:g} to allow it, "
                             "or shorten it")


@contextlib.contextmanager
def declared_peers(specs: list[PeerSpec], allow_public: bool) -> Iterator[dict[str, str]]:
    """The session's peers started; one that cannot listen (the port taken, an address
    not on this host, a path too long) is bad input of the file, not a crash."""
    stack = contextlib.ExitStack()
    try:
        addresses = stack.enter_context(started_peers(specs, allow_public=allow_public))
    except OSError as exc:
        info = from_oserror(exc)
        where = ", ".join(f"{s.name} on {s.address or 'loopback'}" for s in specs)
        raise InputError(f"a peer the session declares cannot listen ({where[:120]}): "
                         f"{info.name} ({info.meaning}); {info.hint}") from None
    with stack:
        yield addresses


def replay_session(recorded: Session, target: str = "", timeout: float = 5.0,
                   journal: Any = None, max_wait: float = MAX_WAIT,
                   allow_public_peers: bool = False, capture: Any = None,
                   allow_raw: bool = False) -> ReplayReport:
    """Run a session against live peers; never raises for a mismatch, only for bad input.

    Each point waits at most `timeout` plus its own wait (`max_wait` at most).
    `capture`: CaptureLimits for the live capture (received bytes past its budget are
    compared by length, as gaps are). `allow_raw`: the person approves every raw and
    packet socket the session creates (without it such a session is refused)."""
    check_limits(recorded, timeout, max_wait, allow_public_peers, allow_raw)
    started = time.monotonic()
    live = Session(peers=recorded.peers, title=recorded.title)
    if journal is not None:
        journal.start(live)
    with declared_peers(recorded.peers, allow_public_peers) as addresses:
        engine = Engine(live, peers=addresses, journal=journal)
        engine.log.lossless = True  # a regression check compares every byte, however slow
        if capture is not None:
            capture.apply(engine.log)
        replayer = Replayer(recorded, engine, timeout, allow_raw)
        unsubscribe = engine.subscribe(replayer.on_event)
        try:
            mismatches = replayer.run()
        finally:
            engine.shutdown()
            unsubscribe()
            if engine.owns_log:  # the live session's payloads live there: its close frees it
                live.closers.append(engine.log.close)
    report = replayer.report
    report.mismatches = mismatches
    report.target = target
    report.steps = len(recorded.steps)
    report.duration = time.monotonic() - started
    report.live = live
    return report
