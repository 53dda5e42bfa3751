"""srlive.live.memlock: srlive's memory stays in RAM while it plays, when the system lets it."""

from __future__ import annotations

import mmap
import resource
import sys

import pytest

from srlive.live import memlock


def locked_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmLck:"):
            return int(line.split()[1])
    raise AssertionError("no VmLck in /proc/self/status")


def test_it_is_not_tried_when_opted_out_or_when_a_finite_limit_could_fail_later_allocations(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("SRLIVE_NO_REALTIME", "1")
    assert memlock.may_lock() is False and memlock.lock_memory() is False
    monkeypatch.delenv("SRLIVE_NO_REALTIME")
    monkeypatch.setattr(memlock.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8 << 20, 8 << 20))  # a user's 8 MB
    assert memlock.may_lock() is False and memlock.lock_memory() is False
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY,) * 2)  # the audio group
    assert memlock.may_lock() is True
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memlock.may_lock() is False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not memlock.may_lock(),
                    reason="needs Linux and the right to lock memory (root, or an unlimited memlock limit)")
def test_it_locks_what_is_in_ram_and_what_is_touched_next_then_lets_go():
    base = locked_kb()  # not always 0: a JACK client in this process locks its shared memory
    try:
        assert memlock.lock_memory() is True
        before = locked_kb()
        assert before > base  # what was in RAM
        block = mmap.mmap(-1, 16 << 20)  # a new mapping, touched after the lock: locked as it is touched
        for page in range(0, len(block), mmap.PAGESIZE):
            block[page] = 1
        assert locked_kb() >= before + 15 * 1024
        block.close()
    finally:
        memlock.unlock_memory()
    assert locked_kb() <= base
