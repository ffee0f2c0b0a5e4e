"""The graph benchmark (`make bench`, `manage.py bench_graph`): a synthetic corpus loaded
into its own database, then slice build and fragment serve times. Not a test."""
