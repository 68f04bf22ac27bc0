"""Projects: film projects, their scripts, render settings and status machine."""
