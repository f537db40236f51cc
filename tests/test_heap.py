"""Responses are read into heap memory, not a fresh mapping each (glibc's mmap threshold).

Each check runs in a fresh interpreter: the threshold is process-wide and only rises, so
this test process, which has made clients already, cannot show the state before.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

FAULTS_PER_READ = """
import resource, socket
from butter_async.heap import keep_socket_reads_on_heap

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def per_read(n=400):
    sender, receiver = socket.socketpair()
    with sender, receiver:
        before = faults()
        for _ in range(n):
            sender.send(b"x" * 300)
            receiver.recv(256 * 1024)  # what asyncio asks of every socket read
        return (faults() - before) / n

untouched = per_read()
keep_socket_reads_on_heap()
print(untouched, per_read())
"""

FAULTS_PER_BULK_WRITE = """
import asyncio, resource
from butter_async import BulkWriter, CreatePage  # the writer loads on first use: load it now
from butter_async.testing import Emulator, SeedSpec

FIELDS = {"headline": "Soup", "servings": 2, "hero_image": "", "ingredients": [],
          "seo": {"title": "Soup", "description": "Warm"}, "sections": []}

async def main():
    async with Emulator(seed=SeedSpec(pages=1)) as emu, emu.client() as butter:
        creates = [CreatePage("recipe", f"soup-{i}", f"Soup {i}", FIELDS) for i in range(1000)]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        report = await butter.bulk_run(creates, concurrency=20)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        print(report.total, report.ok, (after - before) / 1000)

asyncio.run(main())
"""

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the dynamic mmap threshold is glibc's"
)


def run_fresh(script: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.split()


def test_after_the_call_a_socket_read_faults_in_no_fresh_pages() -> None:
    untouched, kept = map(float, run_fresh(FAULTS_PER_READ))
    if untouched < 1:
        pytest.skip("this interpreter's allocator keeps 256 KiB reads on the heap already")
    assert kept < 0.1


def test_a_bulk_job_does_not_map_a_buffer_for_every_response() -> None:
    total, ok, faults_per_write = run_fresh(FAULTS_PER_BULK_WRITE)
    assert (total, ok) == ("1000", "True")
    # Mapping each read buffer costs at least two faults a response, and a write here
    # has two (the client's, and the in-process emulator's request).
    assert float(faults_per_write) < 1.5


def minor_faults_of(pid: int) -> int:
    """Minor page faults process `pid` has taken (the tenth field of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[7])


def test_the_standalone_emulator_does_not_map_a_buffer_for_every_request() -> None:
    # Seeded with nothing, nothing before its first request frees a block large enough to
    # raise the threshold: without the call, every request took 2.0 faults here.
    command = [sys.executable, "-m", "butter_async.testing", "--port", "0"]
    command += ["--posts", "0", "--pages", "0", "--read-token", "heap-read"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split(" at ")[1].split()[0]
            posts = f"{url}posts/?auth_token=heap-read&page_size=1"

            def read_posts() -> None:
                with urllib.request.urlopen(posts, timeout=10) as answer:
                    assert answer.status == 200

            for _ in range(20):
                read_posts()
            before = minor_faults_of(server.pid)
            for _ in range(200):
                read_posts()
            assert (minor_faults_of(server.pid) - before) / 200 < 0.5
        finally:
            server.terminate()
