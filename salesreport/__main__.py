"""`python -m salesreport` runs the CLI."""

from .cli import main

main()
