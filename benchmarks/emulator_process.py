"""The emulator in a child process, so the client under test has a core of its own."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from types import TracebackType

from .host import child_environment

READ_TOKEN = "bench-read-token"
WRITE_TOKEN = "bench-write-token"


class EmulatorProcess:
    """`with EmulatorProcess(posts=10000, latency=0.05) as emu: emu.url`.

    With `pin_cores` (the default) the emulator runs on the last CPU and this process on
    the others while the block runs. Left to itself, Linux's wake-affine scheduling tends
    to pull the two chatty processes onto one core, where they take turns.
    """

    def __init__(self, *, pin_cores: bool = True, **options: object) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "butter_async.testing",
            "--port",
            "0",
            "--read-token",
            READ_TOKEN,
            "--write-token",
            WRITE_TOKEN,
            "--posts",
            "0",
            "--pages",
            "0",
            "--items",
            "0",
        ]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                self.argv.append(flag)
            elif value not in (None, False):
                self.argv += [flag, str(value)]
        self.url = ""
        self.read_token = READ_TOKEN
        self.write_token = WRITE_TOKEN
        self.pin_cores = pin_cores
        self.placement = "emulator and client placed by the OS scheduler"
        self._process: subprocess.Popen[str] | None = None
        self._own_cores: set[int] | None = None

    @property
    def pid(self) -> int:
        """The emulator's process id (while running)."""
        assert self._process is not None, "the emulator is not running"
        return self._process.pid

    def __enter__(self) -> EmulatorProcess:
        self._process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, text=True, env=child_environment()
        )
        if self.pin_cores:
            self._pin(self._process.pid)
        assert self._process.stdout is not None
        banner = self._process.stdout.readline()
        if " at " not in banner:
            self.__exit__(None, None, None)
            raise RuntimeError(f"emulator did not start: {banner!r}")
        self.url = banner.split(" at ")[1].split()[0]
        return self

    def _pin(self, emulator_pid: int) -> None:
        """Give the emulator the last CPU and this process the rest, where there are two."""
        if not hasattr(os, "sched_setaffinity"):
            return  # not Linux: the scheduler places them
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            return
        self._own_cores = set(cores)
        os.sched_setaffinity(emulator_pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))
        client = ",".join(str(core) for core in cores[:-1])
        self.placement = f"emulator pinned to CPU {cores[-1]}, client to CPU {client}"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._own_cores is not None:
            os.sched_setaffinity(0, self._own_cores)
            self._own_cores = None
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None


def add_pin_option(parser: argparse.ArgumentParser) -> None:
    """The `--no-pin` flag every benchmark takes: leave process placement to the OS."""
    parser.add_argument(
        "--no-pin",
        dest="pin_cores",
        action="store_false",
        help="do not pin the emulator and the client to separate CPUs",
    )


def latency_label(latency: float, jitter: float = 0.0) -> str:
    """The emulator's latency for a table's title: `20 ms`, or `20 +- 2 ms` with jitter."""
    spread = f" +- {jitter * 1000:.0f}" if jitter else ""
    return f"{latency * 1000:.0f}{spread} ms"
