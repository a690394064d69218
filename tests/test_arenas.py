"""`serve` bounds glibc's malloc arenas (bot/arenas.py): threads that allocate at once share two
arenas instead of taking one each. Counted by glibc's own malloc_info, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bot.arenas import bound_arenas

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas")

# Sixteen threads allocating blocks past pymalloc's (so from malloc) at the same moment, then the
# arenas glibc made, from malloc_info's XML ("<heap nr=...>" once an arena).
CHILD = textwrap.dedent(
    """
    import ctypes, os, sys, tempfile, threading
    from bot.arenas import bound_arenas
    print(bound_arenas())
    start = threading.Barrier(16)
    def allocate():
        start.wait()
        kept = [bytearray(4096) for _ in range(2000)]
        del kept
    threads = [threading.Thread(target=allocate) for _ in range(16)]
    for t in threads: t.start()
    for t in threads: t.join()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    path = os.path.join(tempfile.mkdtemp(), "info.xml")
    out = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, out)
    libc.fclose(out)
    print(open(path).read().count("<heap nr="))
    """
)


def arenas_made(env: dict[str, str]) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True
    )
    bounded, heaps = done.stdout.split()
    return bounded, int(heaps)


def test_threads_allocating_at_once_share_two_arenas_once_bounded():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    bounded, heaps = arenas_made(env)
    assert bounded == "True" and heaps <= 2


def test_without_the_bound_they_take_more_so_the_count_above_tells():
    env = {**os.environ, "MALLOC_ARENA_MAX": "8"}  # the admin's own: left as it is
    bounded, heaps = arenas_made(env)
    assert bounded == "False" and heaps > 2


def test_an_admins_own_setting_is_left_as_it_is():
    assert bound_arenas({"MALLOC_ARENA_MAX": "4"}) is False
