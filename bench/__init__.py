"""Benchmarks: sessions vs JWT vs JWT with instant revocation (run with `make bench`)."""
