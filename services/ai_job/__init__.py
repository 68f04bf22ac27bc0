"""AI jobs: the job service, its workers, and the media pipeline they run."""
