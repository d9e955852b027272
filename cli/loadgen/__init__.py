"""`sdq bench`'s load generator: pure parts (targets, bodies, arrivals, answers, summary, report)
and the one module that does I/O (`runner`), plus the optional plot."""
