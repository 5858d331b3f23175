"""Benchmark machinery: datasets, suites, the runner, executors, the result store and reports."""
