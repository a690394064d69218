"""`serve` bounds glibc's malloc arenas, as gunicorn's and many Python servers' deployments do.

glibc gives a thread that allocates while another holds an arena an arena of its own, up to eight
per CPU; a server with a score of threads (waitress', the pool after the ack, the log's, the
record's writer) ends with many, each keeping freed memory of its own. Bounded to two, one
`serve` over 110,000 varied requests started at 272 MB instead of 304 and grew by 18 MB instead of
30 (`python bench/load_bench.py --memory 100000`, with MALLOC_ARENA_MAX=2 set and not); the
interpreter's lock already lets one thread at a time allocate Python's objects.

Set before any thread of ours starts, so every thread shares the two. An admin's own
`MALLOC_ARENA_MAX` (glibc reads it at start) is left as it is; elsewhere than glibc (musl,
macOS) there is nothing to bound.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping

log = logging.getLogger("apec.serve")

ARENAS = 2
M_ARENA_MAX = -8  # <malloc.h>


def bound_arenas(environ: Mapping[str, str] = os.environ) -> bool:
    """Bound this process's malloc arenas to ARENAS, unless MALLOC_ARENA_MAX says otherwise;
    whether they were bounded here."""
    if "MALLOC_ARENA_MAX" in environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a C library without it (musl): nothing to bound
        return False
    if mallopt(M_ARENA_MAX, ARENAS) != 1:  # 1 on success, 0 on error
        log.debug("mallopt(M_ARENA_MAX) refused")
        return False
    return True
