"""The nightly learning loop: when to run it, one run at a time, and its record."""
