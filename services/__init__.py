"""FilmStudio backend services."""
