"""`python -m butter_async.testing`: serve the emulator (see `command`)."""

import sys

from .command import main

if __name__ == "__main__":
    main(sys.argv[1:])
