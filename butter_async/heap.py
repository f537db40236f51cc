"""Keep asyncio's socket read buffers on the heap, so a response does not cost a mapping."""

from __future__ import annotations

import functools

RAISING_BLOCK_SIZE = 512 * 1024
"""The block freed to raise the threshold: twice the 256 KiB asyncio reads into."""


@functools.cache
def keep_socket_reads_on_heap() -> None:
    """Raise glibc's mmap threshold above asyncio's read buffer, once per process.

    Until a mapped block that large is freed, glibc maps, shrinks and unmaps that buffer
    on every socket read: two page faults and about 20 µs. Freeing one raises the
    threshold; nothing changes where it is higher, fixed (`MALLOC_MMAP_THRESHOLD_`), or
    not glibc's.
    """
    block = bytearray(RAISING_BLOCK_SIZE)
    del block
