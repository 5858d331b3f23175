"""Studies built on the runner and reports: each module turns one result store into the study's own outputs."""
