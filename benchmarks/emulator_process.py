"""The emulator in a child process, so the client under test has a core of its own."""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType

READ_TOKEN = "bench-read-token"
WRITE_TOKEN = "bench-write-token"


class EmulatorProcess:
    """`with EmulatorProcess(posts=10000, latency=0.05) as emu: emu.url`."""

    def __init__(self, **options: object) -> None:
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
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> EmulatorProcess:
        self._process = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        banner = self._process.stdout.readline()
        if " at " not in banner:
            self.__exit__(None, None, None)
            raise RuntimeError(f"emulator did not start: {banner!r}")
        self.url = banner.split(" at ")[1].split()[0]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
