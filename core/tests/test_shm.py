"""Cross-process shared-memory rings: attach by name, header checks, and a 10M-record stress."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numba
import numpy as np
import pytest
from tradeloop._rings import ring_pop_batch
from tradeloop.loop import BLOCK, DROP_OLDEST, ShmRing
from tradeloop_sdk import REPORT_DTYPE, TICK_DTYPE


def test_attach_by_name_shares_records_and_header() -> None:
    ring = ShmRing.create(REPORT_DTYPE, 8, DROP_OLDEST)
    try:
        other = ShmRing.attach(ring.name)
        assert other.dtype == REPORT_DTYPE and other.capacity == 8 and other.policy == DROP_OLDEST
        rec = np.zeros(3, REPORT_DTYPE)
        rec["client_id"] = [1, 2, 3]
        assert ring.push_many(rec) == 3
        assert other.pop_many()["client_id"].tolist() == [1, 2, 3]
        with pytest.raises(ValueError, match="cannot attach"):
            ShmRing.attach(ring.name, TICK_DTYPE)
        other.close_shm()
    finally:
        ring.close_shm()
        ring.unlink()


def test_attach_refuses_a_block_that_is_not_a_ring() -> None:
    from multiprocessing import shared_memory

    shm = shared_memory.SharedMemory(create=True, size=4096)
    try:
        with pytest.raises(ValueError, match="not a tradeloop ring"):
            ShmRing.attach(shm.name)
    finally:
        shm.close()
        shm.unlink()


PRODUCER = textwrap.dedent(
    """
    import sys
    import numba
    import numpy as np
    from tradeloop.loop import ShmRing
    from tradeloop._rings import ring_push_batch, ring_close

    @numba.njit(nogil=True)
    def produce(ring, n, batch):
        buf = np.zeros(batch, ring.buf.dtype)
        i = 0
        while i < n:
            k = min(batch, n - i)
            for m in range(k):
                s = i + m
                buf[m]["seq"] = s
                buf[m]["ts_exch"] = s * 7 + 3
                buf[m]["bid"] = s * 0.5
                buf[m]["ask"] = s * 0.5 + 1.0
                buf[m]["bid_size"] = float(s % 1000)
                buf[m]["ask_size"] = float(s % 977)
                buf[m]["venue"] = s % 3
                buf[m]["symbol"] = s % 65521
                buf[m]["kind"] = 1 + s % 3
                buf[m]["ts_recv"] = (s * 2654435761) ^ (s * 7 + 3)  # checksum
            pushed = 0
            while pushed < k:
                pushed += ring_push_batch(ring, buf, pushed, k - pushed)
            i += k
        ring_close(ring)
        return i

    ring = ShmRing.attach(sys.argv[1])
    print(produce(ring.view, int(sys.argv[2]), 512), flush=True)
    ring.close_shm()
    """
)


@numba.njit(nogil=True)
def _consume_verify(ring, n, batch):  # type: ignore[no-untyped-def]
    """Pop until n records arrived; count records out of sequence or with a bad field."""
    buf = np.zeros(batch, ring.buf.dtype)
    expect = 0
    bad = 0
    while expect < n:
        got = ring_pop_batch(ring, buf, 0, batch)
        for m in range(got):
            r = buf[m]
            s = expect
            ok = (
                r["seq"] == s
                and r["ts_exch"] == s * 7 + 3
                and r["bid"] == s * 0.5
                and r["ask"] == s * 0.5 + 1.0
                and r["bid_size"] == float(s % 1000)
                and r["ask_size"] == float(s % 977)
                and r["venue"] == s % 3
                and r["symbol"] == s % 65521
                and r["kind"] == 1 + s % 3
                and r["ts_recv"] == (s * 2654435761) ^ (s * 7 + 3)
            )
            if not ok:
                bad += 1
            expect += 1
    return bad


@pytest.mark.slow
def test_ten_million_records_cross_process_no_loss_dup_reorder_or_tearing(tmp_path: Path) -> None:
    n = 10_000_000
    ring = ShmRing.create(TICK_DTYPE, 1 << 14, BLOCK)
    script = tmp_path / "producer.py"
    script.write_text(PRODUCER)
    try:
        _consume_verify(ring.view, 0, 8)  # compile before the producer starts
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(script), ring.name, str(n)], stdout=subprocess.PIPE, text=True
        )
        bad = _consume_verify(ring.view, n, 1024)
        out, _ = proc.communicate(timeout=120)
        elapsed = time.perf_counter() - t0
        assert proc.returncode == 0 and int(out.strip()) == n
        assert bad == 0, f"{bad} records lost, duplicated, reordered or torn"
        assert len(ring) == 0 and ring.closed and ring.dropped == 0
        print(f"10M records cross-process in {elapsed:.1f}s (incl. producer start)")
    finally:
        ring.close_shm()
        ring.unlink()


_SPAWNED_ATTACH = """
import multiprocessing as mp
import sys

from tradeloop._shm import ShmRing
from tradeloop_sdk import TICK_DTYPE


def child(name):
    ring = ShmRing.attach(name)
    ring.close_shm()


if __name__ == "__main__":
    ring = ShmRing.create(TICK_DTYPE, 64)
    p = mp.get_context("spawn").Process(target=child, args=(ring.name,))
    p.start()
    p.join(60)
    ring.close_shm()
    ring.unlink()
    print("done", p.exitcode)
"""


def test_a_spawned_attacher_leaves_the_creators_tracking_alone(tmp_path: Path) -> None:
    # A spawned child shares its parent's resource tracker: unregistering after attach
    # removed the creator's registration, and the creator's unlink then failed in the
    # tracker (a KeyError traceback; a block left behind had the creator crashed).
    script = tmp_path / "spawned_attach.py"
    script.write_text(_SPAWNED_ATTACH)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "done 0" in out.stdout
    assert "Traceback" not in out.stderr and "leaked" not in out.stderr, out.stderr[-2000:]
