"""`python -m butter_async`: the command line."""

from .cli import main

main()
