"""``python -m bench.profiled FILE serve ...``: dukabot's CLI with cProfile on the event loop's thread between a
SIGUSR1 (start) and a SIGUSR2 (stop and write FILE), so that a profile holds the measured updates alone, not the
server's start."""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType


def main() -> None:
    target, argv = sys.argv[1], sys.argv[2:]
    profile = cProfile.Profile()

    def start(_signal: int, _frame: FrameType | None) -> None:
        profile.enable()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        profile.disable()
        profile.dump_stats(target)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from webhooks.cli import main as dukabot

    dukabot(args=argv)


if __name__ == "__main__":
    main()
