"""Keep asyncio's socket read buffers on the heap, so a response does not cost a mapping."""

from __future__ import annotations

import functools

READ_BUFFER_HEADROOM = 512 * 1024
"""Twice the 256 KiB buffer asyncio allocates for every socket read."""


@functools.cache
def keep_socket_reads_on_heap() -> None:
    """Raise glibc's mmap threshold above asyncio's read buffer; once per process.

    glibc maps each block over its threshold (128 KiB at start) with mmap and raises the
    threshold to the size of a mapped block when one is freed. Until some block that big
    is freed, every 256 KiB read buffer is mapped, shrunk and unmapped: two page faults
    and about 20 µs a response. Freeing one block above the buffer's size raises it, as
    any large temporary would. It does nothing if the threshold is higher already, if it
    was fixed with `MALLOC_MMAP_THRESHOLD_` or `mallopt`, or on another allocator.
    """
    block = bytearray(READ_BUFFER_HEADROOM)
    del block
