"""The assistant in a browser: an HTTP API and a page, served by `assistant serve --http`.

`guard.py` (token, Origin, limits), `api.py` (the routes), `live.py` (one WebSocket, one
session, text and audio), `openapi.py` (the description), `server.py` (uvicorn, TLS),
`static/` (the page: no build step, no CDN).
"""
