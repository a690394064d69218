"""waitress' connection without its busy loop (why throughput followed a logger's level).

A task thread writes its response into the connection's out-buffer and sends it itself, holding
the buffer's lock (waitress 3 sends what it is given at once: `send_bytes` is 1). Meanwhile the
buffer is not empty, so the server's loop asks poll() whether the socket takes writes; it does at
once, and `handle_write` tries the lock without waiting, finds it held, and does nothing. The loop
turns again, holding the interpreter lock that the task thread needs to finish its send and let
go. Counted at 50 connections (bench: one worker, uncached commands): 22 loop turns a request.

Anything that put the loop thread to sleep cut that spin short. With the `waitress.queue` logger
at WARNING, the dispatcher logs "Task queue depth is N" from the loop thread on most requests at
that load, and the line waited for the log handler's lock, which the task threads' request lines
held: the loop slept, the tasks ran. At ERROR nothing put it to sleep: 0.19x the requests a
second, 5x the CPU a request (issue 24). Lines put on a queue (bot/observe.py) no longer wait, so
the spin would be back at every level.

Here the loop waits for the lock instead. It is held only while a task thread appends to the
buffer and sends without blocking (the socket does not block): a task thread that must wait for
the loop to drain the buffer waits on the lock's condition, which lets the lock go. Measured with
it: 0.1 loop turns a request, and req/s at ERROR and at WARNING within the noise of each other.
"""

from __future__ import annotations

from waitress.channel import HTTPChannel


class PatientChannel(HTTPChannel):
    """An HTTP connection whose loop-side flush waits for a task thread's lock."""

    def _flush_some_if_lockable(self, do_close: bool = True) -> None:
        # waitress' own tries the lock without waiting and does nothing if it is held: the spin.
        with self.outbuf_lock:
            self._flush_some(do_close=do_close)  # type: ignore[attr-defined]  # not in its stubs
            if self.total_outbufs_len < self.adj.outbuf_high_watermark:
                self.outbuf_lock.notify()
