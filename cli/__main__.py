"""`python -m cli`: the same CLI, for child processes started by `sdq up`."""

from cli import main

main()
