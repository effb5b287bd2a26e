"""The inbox's two small rules (:mod:`payments.ingest`): when the applier may run while callbacks arrive, and which
events this process knows for sure are already committed.

**When to apply** (:class:`ApplyPolicy`: :meth:`~ApplyPolicy.next_batch` before a batch, :meth:`~ApplyPolicy.go_on`
between its events). Recording a callback is a short group commit; applying one is the business logic (several
milliseconds of CPU). On one core the two compete for the CPU and for SQLite's one write lock, so the applier must not
set the pace of the answers. The rule:

- arrivals waiting to be recorded (queued, or their commit under way): the applier does not start a batch until the
  recorder is idle, or until its share of the time is due: after a batch that took ``d`` seconds it is owed the
  next one ``d * (1 - share) / share`` later (``3 d`` at a quarter). So it gets at least ``share`` of the time
  however dense the arrivals, and the backlog of a sustained overload drains;
- within a batch (up to ``batch`` events in one transaction), the applier stops after the event at hand once
  ``batch`` arrivals or more wait (a burst), and commits what it applied: they wait behind one event's work, not a
  batch's. Fewer waiting (callbacks at a steady pace) let the batch finish: splitting it would cost a commit per
  event, and at 50 callbacks a second on a busy core that cost is what makes receipts late;
- otherwise (no arrival waiting) it applies at once: at light load an event is applied as soon as its record is
  committed, with no delay added, and a backlog drains a batch per transaction;
- overload, a backlog of ``high_water`` or more: the applier neither waits nor stops early, and recording waits
  (:meth:`ApplyPolicy.may_record`) until the backlog is under ``high_water`` again: the backlog stays bounded and the
  answers slow to the pace of the business logic (a provider that times out delivers again: a duplicate).

**What is known** (:class:`Recent`): a bounded memory, least recently used out first. The inbox keeps the keys of the
events this process saw committed (recorded by it or by another transaction it read, or applied by it), scoped by
tenant and provider as the database's unique keys are; a key is added only once its transaction committed, so a key
found in it is committed and "already have it" is a true answer; a key not in it goes to the database.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

EventKey = tuple[int, str, str]  # (tenant id, provider, event key): the scope of the inbox's unique key

# Keys kept of committed events and of checked requests: each entry costs ~300 bytes, so ~5 MB each when full. A
# provider redelivers within minutes, and 16,384 events is several minutes of a busy process's callbacks.
KEPT = 16_384


@dataclass(slots=True)
class ApplyPolicy:
    batch: int = 8  # events per transaction at most
    high_water: int = 2_000  # a backlog at this: recording waits for the applier (~15 s of applying at 7 ms each)
    share: float = 0.25  # the applier's least share of the time while arrivals wait
    _last_batch_ended: float | None = field(default=None, init=False)
    _last_batch_took: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError("share must be in (0, 1]")
        if not 0 < self.batch <= self.high_water:
            raise ValueError("batch must be positive and no more than high_water")

    def applied(self, started: float, ended: float) -> None:
        """The applier applied a batch from ``started`` to ``ended``."""
        self._last_batch_ended = ended
        self._last_batch_took = max(0.0, ended - started)

    def next_batch(self, now: float, backlog: int, recording: bool) -> tuple[float, int]:
        """How long the applier waits for the recorder to go idle (0: not at all), and how many events its next
        batch may hold. ``backlog``: events recorded and not applied; ``recording``: arrivals wait to be recorded."""
        if recording and backlog < self.high_water and self._last_batch_ended is not None:
            rest = self._last_batch_took * (1 - self.share) / self.share
            return max(0.0, self._last_batch_ended + rest - now), self.batch
        return 0.0, self.batch  # (no batch yet to weigh its share against: the first is not held back)

    def go_on(self, backlog: int, waiting: int) -> bool:
        """Whether a batch under way applies its next event (it has applied one at least), with ``waiting`` arrivals
        waiting to be recorded."""
        return waiting < self.batch or backlog >= self.high_water

    def may_record(self, backlog: int) -> bool:
        """Whether recording may go on; not at ``high_water`` (the applier catches up first)."""
        return backlog < self.high_water


class Recent(Generic[K, V]):
    """A bounded map that forgets its least recently used entry first."""

    def __init__(self, size: int = KEPT) -> None:
        if size < 1:
            raise ValueError("size must be positive")
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop_if(self, unwanted: Callable[[V], bool]) -> None:
        for key in [key for key, value in self._entries.items() if unwanted(value)]:
            del self._entries[key]


@dataclass(frozen=True, slots=True)
class CheckedBefore:
    """What a route's full check of a request found, kept so that the same request seen again needs no database:
    the tenant (a payment's token never changes tenant), and the route's own facts (what verified it)."""

    tenant_id: int
    facts: object
