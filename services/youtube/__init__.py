"""YouTube: account connection, uploads and playlists."""
