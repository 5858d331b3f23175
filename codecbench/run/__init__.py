"""Running suites: suite files, jobs, the runner, executors (local, Dask) and the crash-safe result store."""
