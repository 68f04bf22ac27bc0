"""FilmStudio's web page, served by the gateway at `/`: static files plus three small routes.

The page talks to the public REST API like any client. Beside it: a cookie session (the refresh
token lives in an HttpOnly, SameSite=Strict cookie, never in the page's storage) and artifact
downloads through the gateway (a <video> and its <track> must be same-origin). Registered by
gateway/filmstudio.py; it imports FilmStudio's contracts, never the studio's code.
"""
