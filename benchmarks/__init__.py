"""The benchmarks of issue 8, run with `make bench` (`python -m benchmarks`).

Each benchmark measures a figure of the system and, in the same run on the
same machine, a baseline it can be compared with (a bare Flask endpoint, a
consumer that does no work, the smallest size), so that the ratio still means
something on a machine shared with other work. `python -m benchmarks` writes
every figure to docs/benchmarks.md.
"""
