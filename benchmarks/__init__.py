"""Scripts that measure the adapter and print figures (never run as tests)."""
