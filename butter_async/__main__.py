"""`butter-async` and `python -m butter_async`: the command line, if its extra is installed."""

from __future__ import annotations

import sys

INSTALL_HINT = "pip install 'butter-async[cli]'"


def main() -> None:
    """Run the command line; without the `cli` extra, say how to get it (exit code 2)."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError as error:
        print(
            f"butter-async: the command line needs the 'cli' extra ({error.name} is missing): "
            f"{INSTALL_HINT}",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
