"""The `butter-async` command line: thin commands over the library's jobs (`demo`,
`export`, `imports`, `worker`, `schema`, `types`, `emulator`), sharing `common`; bars
from `progress`."""

from . import demo, emulator, export, imports, schema, types, worker
from .common import main

__all__ = ["demo", "emulator", "export", "imports", "main", "schema", "types", "worker"]
