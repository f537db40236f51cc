"""The jobs behind the command line, for scripts to run exactly as it does: exports and
imports of JSON Lines files (`export`, `imports`, over `jsonl` and `export_files`), imports
sharded over a job queue (`import_queue` queues, `shard_worker` runs, `shard_reports`
merges, over `shards`; the variables they read are in `environment`), and the demo (`demo`)."""

from .export import ExportJob, ExportKind, ExportSummary, write_invalid
from .imports import ImportJob, ImportNeeds
from .jsonl import ImportKind

__all__ = [
    "ExportJob",
    "ExportKind",
    "ExportSummary",
    "ImportJob",
    "ImportKind",
    "ImportNeeds",
    "write_invalid",
]
