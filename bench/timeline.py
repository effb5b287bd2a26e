"""Where a receipt's time goes, stage by stage (``python -m bench latency --timeline``).

The server runs as ``python -m bench.timeline FILE serve ...``: dukabot's own ``serve`` with the debug lines of the
``dukabot.timeline`` logger (``payments.ingest``, ``core.relay``, ``core.relay_lanes``; silent otherwise) written to
``FILE``. Each line carries ``time.monotonic()`` readings, which on Linux are one clock for every process, so they
line up with the load generator's (a callback sent) and the fake Bot API's (a message received). ``breakdown`` joins
them per receipt (a callback's receipt number names its customer's chat) and says how long each stage took, at the
median, at p99, and on average among the slowest receipts: where the p99 goes.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import percentile

LOGGER = "dukabot.timeline"
_RECEIPT = re.compile(r"BN(\d+)$")  # the bench's receipt numbers end in their customer's chat id


def main() -> None:
    """``python -m bench.timeline FILE serve ...``: dukabot's CLI with the timeline written to FILE."""
    target, argv = sys.argv[1], sys.argv[2:]
    handler = logging.FileHandler(target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    timeline = logging.getLogger(LOGGER)
    timeline.addHandler(handler)
    timeline.setLevel(logging.DEBUG)
    timeline.propagate = False  # the server's own log stays as it is
    _watch_stalls(timeline)
    from webhooks.cli import main as dukabot

    dukabot(args=argv)


STALL = 0.1  # seconds the main thread may spend away from the event loop's select before it is a stall


def _watch_stalls(timeline: logging.Logger) -> None:
    """Log where the main thread was when it ran ``STALL`` seconds or more without coming back to the event loop's
    select (CPU-bound work or a blocking call on the loop), and every garbage collection of the oldest generation."""
    import gc
    import threading
    import time
    import traceback

    main_thread = threading.main_thread().ident
    collecting: list[float] = []

    def collected(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            collecting.append(time.monotonic())
        elif collecting:
            began = collecting.pop()
            timeline.debug("gc - %.6f %.6f %d", began, time.monotonic(), info.get("collected", 0))

    gc.callbacks.append(collected)

    def watch() -> None:
        busy_since: float | None = None
        reported = 0.0
        last = time.monotonic()
        while True:
            time.sleep(0.01)
            now = time.monotonic()
            if now - last > STALL:  # this thread did not run: the process was not scheduled, or the GIL was held
                timeline.debug("gap - %.6f %.6f", last, now)
            last = now
            frame = sys._current_frames().get(main_thread or 0)
            if frame is None:
                continue
            idle = frame.f_code.co_name in ("select", "poll") and "selectors" in frame.f_code.co_filename
            if idle:
                busy_since = None
                continue
            if busy_since is None:
                busy_since, reported = now, now
            elif now - reported >= STALL:
                reported = now
                entries = traceback.extract_stack(frame)
                # The project's own frames (where the work came from), then the innermost (what it was doing).
                ours = [
                    entry for entry in entries if "site-packages" not in entry.filename and "<" not in entry.filename
                ]
                stack = " | ".join(
                    f"{Path(entry.filename).name}:{entry.lineno}:{entry.name}" for entry in [*ours[-6:], *entries[-3:]]
                )
                timeline.debug("stall - %.6f %.6f %s", busy_since, now, stack)

    threading.Thread(target=watch, name="stall-watch", daemon=True).start()


@dataclass
class Trace:
    """What the server logged about one receipt's chat (every time a ``time.monotonic()`` reading)."""

    arrived: float | None = None  # the callback reached Ingest.record
    record_began: float | None = None  # its recording commit began
    recorded: float | None = None  # committed
    record_batch: int = 0
    apply_looked: float | None = None  # the applier's transaction that applied it began
    apply_locked: float | None = None  # its first statement ran (it had SQLite's write lock)
    applied: float | None = None  # committed
    apply_batch: int = 0
    claimed: float | None = None  # the relay had the row (its lane was started, or handed it)
    lane: float | None = None  # the lane began to deliver it
    slot: float | None = None  # pacing booked its send
    sending: float | None = None  # handed to the notifier
    answered: float | None = None  # the Bot API's answer came back
    sent_recorded: float | None = None  # SENT committed
    deferred: list[float] = field(default_factory=list)  # seconds it was given back for, each time


pauses: list[tuple[float, float]] = []  # the applier's pauses for the recorder: (asked, taken) seconds
held: dict[str, list[tuple[float, float]]] = {"gc": [], "stall": []}  # (from, to) of each, from _watch_stalls
stacks: dict[float, str] = {}  # where the main thread was, by the start of its stall (the last report of each)


def read(path: Path) -> dict[str, Trace]:
    """The traces in the file, by chat id (as the fake Bot API names chats)."""
    traces: dict[str, Trace] = {}
    pauses.clear()
    for spans in held.values():
        spans.clear()
    stacks.clear()
    if not path.exists():
        return traces
    for line in path.read_text(errors="replace").splitlines():
        kind, _, rest = line.partition(" ")
        fields = rest.split()
        if kind in ("record", "apply"):
            found = _RECEIPT.search(fields[0])
            if found is None:
                continue
            trace = traces.setdefault(str(int(found.group(1))), Trace())
            first, second, third = (float(value) for value in fields[1:4])
            if kind == "record":
                trace.arrived, trace.record_began, trace.recorded = first, second, third
                trace.record_batch = int(fields[4])
            else:
                trace.apply_looked, trace.apply_locked, trace.applied = first, second, third
                trace.apply_batch = int(fields[4])
        elif kind == "claim":
            trace = traces.setdefault(fields[0], Trace())
            trace.claimed = trace.claimed or float(fields[1])
        elif kind == "deliver":
            trace = traces.setdefault(fields[0], Trace())
            if trace.sending is None and fields[6] == "sent":
                trace.lane, trace.slot, trace.sending, trace.answered, trace.sent_recorded = (
                    float(value) for value in fields[1:6]
                )
        elif kind in held:
            held[kind].append((float(fields[1]), float(fields[2])))
            if kind == "stall":
                stacks[float(fields[1])] = " ".join(fields[3:])
        elif kind == "pause":
            pauses.append((float(fields[2]), float(fields[3])))
        elif kind == "defer":
            traces.setdefault(fields[0], Trace()).deferred.append(float(fields[2]))
    return traces


# (name, from, to): a stage is the time between two readings; "sent" is the generator's, "at_fake" the fake's.
STAGES = (
    ("http in", "sent", "arrived"),
    ("wait to record", "arrived", "record_began"),
    ("record commit", "record_began", "recorded"),
    ("wait for applier", "recorded", "apply_looked"),
    ("applier's lock", "apply_looked", "apply_locked"),
    ("apply + commit", "apply_locked", "applied"),
    ("to relay", "applied", "claimed"),
    ("to lane", "claimed", "lane"),
    ("pacing", "lane", "slot"),
    ("gather", "slot", "sending"),
    ("to the fake", "sending", "at_fake"),
    ("fake's answer back", "at_fake", "answered"),
    ("total", "sent", "at_fake"),
)


def breakdown(sent: Mapping[str, float], at_fake: Mapping[str, float], path: Path) -> list[str]:
    """Notes on where each receipt's time went: the median and p99 of each stage, and its mean among the slowest
    2 % of receipts (those at or past p98 end to end)."""
    traces = read(path)
    rows: list[dict[str, float]] = []
    for chat, began in sent.items():
        trace = traces.get(chat)
        if trace is None or chat not in at_fake:
            continue
        readings: dict[str, float | None] = {**vars(trace), "sent": began, "at_fake": at_fake[chat]}
        if any(readings[start] is None or readings[end] is None for _, start, end in STAGES):
            continue
        # The applier may begin its transaction before the record commits (it queued for the lock meanwhile).
        looked = max(_f(readings["apply_looked"]), _f(readings["recorded"]))
        readings["apply_looked"] = looked
        rows.append({name: _f(readings[end]) - _f(readings[start]) for name, start, end in STAGES})
    if not rows:
        return ["timeline: no receipt could be traced end to end"]
    rows.sort(key=lambda row: row["total"])
    slowest = rows[int(len(rows) * 0.98) :]
    notes = [f"timeline ({len(rows)} receipts traced; ms: p50 / p99 / mean of the slowest {len(slowest)}):"]
    for name, _, _ in STAGES:
        values = [row[name] for row in rows]
        mean = sum(row[name] for row in slowest) / len(slowest)
        notes.append(
            f"  {name}: {percentile(values, 0.5) * 1000:,.1f} / {percentile(values, 0.99) * 1000:,.1f} / "
            f"{mean * 1000:,.1f}"
        )
    traced = [traces[chat] for chat in sent if chat in traces]
    deferred = [seconds for trace in traced for seconds in trace.deferred]
    batches = [trace.apply_batch for trace in traced if trace.apply_batch]
    records = [trace.record_batch for trace in traced if trace.record_batch]
    notes.append(
        f"  receipts given back by pacing: {len(deferred)}"
        + (f" (for up to {max(deferred):.2f}s)" if deferred else "")
        + f"; events per apply transaction p50 {percentile(batches, 0.5):.0f}, max {max(batches, default=0)}"
        + f"; arrivals per recording commit p50 {percentile(records, 0.5):.0f}, max {max(records, default=0)}"
    )
    begun, ended = min(sent.values()), max(at_fake.values())
    for kind, what in (("gc", "collections of the oldest generation"), ("stall", "event loop held ≥ 0.1 s")):
        spans: dict[float, float] = {}
        for start, end in held[kind]:
            if begun <= start <= ended:
                spans[start] = max(end, spans.get(start, end))  # a long stall is reported more than once
        lengths = sorted(end - start for start, end in spans.items())
        notes.append(
            f"  {what}: {len(lengths)}"
            + (
                f", p50 {percentile(lengths, 0.5) * 1000:,.0f} ms, longest {lengths[-1] * 1000:,.0f} ms"
                if lengths
                else ""
            )
        )
        if kind == "stall" and spans:
            longest = max(spans, key=lambda start: spans[start] - start)
            notes.append(f"  the longest, last seen in: {stacks.get(longest, '?')}")
    taken = [pause[1] for pause in pauses]
    notes.append(
        f"  the applier paused for the recorder {len(pauses)} times, p50 {percentile(taken, 0.5) * 1000:,.1f} ms, "
        f"max {max(taken, default=0) * 1000:,.1f} ms (asked for up to {max((p[0] for p in pauses), default=0):.3f}s)"
    )
    return notes


def _f(value: float | None) -> float:
    assert value is not None
    return value


if __name__ == "__main__":
    main()
