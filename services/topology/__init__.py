"""`make up` / `make down`: the production shape on one machine, under supervisord.

PostgreSQL, Redis and SeaweedFS (each only if none is running or configured), one `filmstudio
serve` process per service, the gateway routing each service to its process, and two workers.
"""
