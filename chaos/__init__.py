"""A chaos soak of `sdq up`: jobs in every dialect while its processes are SIGKILLed at random.

`plan` and `verdict` are pure (a seed in, a schedule out; observations in, a report out); the
other modules do the I/O: `receiver` takes webhooks, `clients` submits, `processes` finds and
kills, `soak` runs it all. A tool above the product's layers, like `bench/`: it may import any.
"""
