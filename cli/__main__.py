"""`python -m sdq.cli`: the same CLI, for child processes started by `sdq up`."""

from sdq.cli import main

main()
