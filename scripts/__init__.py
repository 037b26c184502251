"""Developer tooling used by the Makefile (not part of the application)."""
