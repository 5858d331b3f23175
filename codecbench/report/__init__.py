"""Reports read from a result store: tables, BD-rates, plots, figures, the CI check and CompressAI JSON."""
