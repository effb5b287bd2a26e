"""The playground's stdin, read without blocking its shutdown.

A thread blocked in ``sys.stdin.readline()`` cannot be interrupted, and ``asyncio.run`` waits for it when it closes
its executor: `:quit` and Ctrl-C then hung until the next line or Ctrl-D. This reader waits for input with a short
``select`` timeout instead, so it sees the stop request within a tenth of a second.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import select
import sys
import threading

POLL_SECONDS = 0.1  # how soon the reader notices that the playground is closing


class LineReader:
    """Lines typed (or piped) on stdin, delivered to the event loop; None once stdin ends."""

    def __init__(self) -> None:
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        # A daemon thread: where select cannot wait on stdin (Windows consoles) it blocks in read and must not keep
        # the process alive after the playground has ended.
        self._thread = threading.Thread(target=self._pump, name="playground-stdin", daemon=True)
        self._thread.start()

    async def get(self) -> str | None:
        return await self.lines.get()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * POLL_SECONDS)

    def _pump(self) -> None:
        fd = sys.stdin.fileno()
        decoder = codecs.getincrementaldecoder(sys.stdin.encoding or "utf-8")(errors="replace")
        buffered = ""
        while not self._stop.is_set():
            if not self._readable(fd):
                continue
            chunk = os.read(fd, 65536)
            buffered += decoder.decode(chunk, final=not chunk)
            while "\n" in buffered:
                line, _, buffered = buffered.partition("\n")
                self._put(line.rstrip("\r"))
            if not chunk:  # end of input: Ctrl-D, or the end of a piped script
                if buffered:
                    self._put(buffered)
                self._put(None)
                return

    def _readable(self, fd: int) -> bool:
        try:
            ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        except (OSError, ValueError):
            return True  # select does not take this stdin: read, blocking
        return bool(ready)

    def _put(self, line: str | None) -> None:
        # The loop may already be closed when the thread reads its last line; that line has nobody to go to.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.lines.put_nowait, line)
