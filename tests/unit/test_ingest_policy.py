"""payments.ingest_policy: when the applier may run while callbacks arrive (times given, not slept), and the bounded
memory the inbox keeps."""

from __future__ import annotations

import pytest

from payments.ingest_policy import ApplyPolicy, Recent


def policy() -> ApplyPolicy:
    # Times in binary fractions, so that the arithmetic is exact.
    return ApplyPolicy(batch=8, high_water=100, share=0.25)


def test_with_no_arrival_waiting_the_applier_applies_at_once_a_batch_at_a_time() -> None:
    rule = policy()
    assert rule.next_batch(1.0, backlog=0, recording=False) == (0.0, 8)  # the first, after a restart say
    rule.applied(1.0, 1.25)
    assert rule.next_batch(1.25, backlog=1, recording=False) == (0.0, 8)  # light load: no delay added
    assert rule.go_on(backlog=40, waiting=0)


def test_while_arrivals_wait_the_applier_yields_until_its_share_is_due() -> None:
    rule = policy()
    rule.applied(1.0, 1.25)  # a batch took 250 ms: a quarter of the time earns the recorder 750 ms, until 2.0
    assert rule.next_batch(1.25, backlog=10, recording=True) == (0.75, 8)
    assert rule.next_batch(1.75, backlog=10, recording=True) == (0.25, 8)
    assert rule.next_batch(2.0, backlog=10, recording=True) == (0.0, 8)  # due, however dense the arrivals
    rule.applied(2.0, 2.125)
    assert rule.next_batch(2.125, backlog=10, recording=True) == (0.375, 8)  # three times the last one's 125 ms


def test_a_batch_stops_after_the_event_at_hand_when_a_batch_of_arrivals_waits() -> None:
    rule = policy()
    assert not rule.go_on(backlog=10, waiting=8)  # a burst: they go first
    assert rule.go_on(backlog=10, waiting=7)  # a steady pace: the batch finishes, a commit for all its events


def test_the_first_batch_is_not_held_back() -> None:
    assert policy().next_batch(3.0, backlog=5, recording=True) == (0.0, 8)  # nothing to weigh its share against


def test_at_high_water_the_applier_catches_up_and_recording_waits() -> None:
    rule = policy()
    rule.applied(4.0, 4.5)
    assert rule.next_batch(4.5, backlog=100, recording=True) == (0.0, 8)
    assert rule.go_on(backlog=100, waiting=50)
    assert not rule.may_record(100)
    assert rule.may_record(99)


def test_a_policy_that_could_starve_the_applier_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        ApplyPolicy(share=0.0)
    with pytest.raises(ValueError, match="batch"):
        ApplyPolicy(batch=10, high_water=5)


def test_recent_forgets_the_least_recently_used_first() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # used: "b" is now the oldest
    recent.put("c", 3)
    assert ("a" in recent, "b" in recent, "c" in recent) == (True, False, True)
    assert len(recent) == 2
    recent.drop_if(lambda value: value == 3)
    assert ("a" in recent, "c" in recent, len(recent)) == (True, False, 1)
