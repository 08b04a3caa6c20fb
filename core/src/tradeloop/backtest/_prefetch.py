"""Read a data source's next chunks on a thread while the loop runs the current one.

The fused loop releases the GIL while it runs a chunk, and so do numpy copies, pyarrow
reads and compiled generators declared ``nogil``: reading ahead overlaps them. Chunks
arrive in the order the source yields them, so results do not change.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable

import numpy as np

__all__ = ["Prefetch"]

#: how often a blocked reader looks whether it was told to stop (seconds)
_POLL_S = 0.05


class Prefetch:
    """Iterate ``chunks`` on a thread: ``depth`` chunks queued, one more being read.

    ``get()`` returns the next chunk (C-contiguous), or None at the end; an exception the
    source raised is raised there, in the consumer's thread. ``close()`` stops the reader
    and closes the source's iterator (in the reader's thread, which owns it); call it in a
    ``finally``, also after an early exit (Ctrl-C).
    """

    def __init__(self, chunks: Iterable[np.ndarray], depth: int = 2) -> None:
        self._queue: queue.Queue[tuple[np.ndarray | None, BaseException | None]] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read, args=(chunks,), name="tradeloop-data", daemon=True
        )
        self._thread.start()

    def _put(self, item: tuple[np.ndarray | None, BaseException | None]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, chunks: Iterable[np.ndarray]) -> None:
        it = None
        try:
            it = iter(chunks)
            for chunk in it:
                if not self._put((np.ascontiguousarray(chunk), None)):
                    return
            self._put((None, None))
        except BaseException as exc:  # handed to the consumer, raised in its thread
            self._put((None, exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def get(self) -> np.ndarray | None:
        """The next chunk, or None when the source is done."""
        chunk, exc = self._queue.get()
        if exc is not None:
            raise exc
        return chunk

    def close(self) -> None:
        """Stop reading ahead, close the source's iterator and wait for the reader."""
        self._stop.set()
        self._thread.join()
