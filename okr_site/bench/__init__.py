"""Benchmarks and the load test: figures measured in one run, as ratios."""
