"""Admin: the operations console backend."""
