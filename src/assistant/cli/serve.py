"""`assistant serve`: speech-to-text, text-to-speech, wake word and the brain over Wyoming.

Home Assistant adds the server with the Wyoming integration (host and port);
`--satellite` connects to satellites and runs the voice pipeline for each; `--http` serves the
page and the HTTP API (`assistant.web`). Any of them in one process, on one assistant.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from typing import Any

from assistant.cli.output import show_notices
from assistant.text import visible


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser(
        "serve",
        help="serve Home Assistant (and satellites) over the Wyoming protocol",
        description="A Wyoming server: speech-to-text, text-to-speech, wake word and the "
        "assistant as a conversation agent. Wyoming has no authentication: the server binds "
        "127.0.0.1 unless a host is given, and serves only the addresses in [wyoming] allow.",
    )
    serve.add_argument(
        "--wyoming",
        metavar="URI",
        help="where to listen: tcp://HOST:PORT (tcp://:PORT binds 127.0.0.1) or unix://PATH",
    )
    serve.add_argument(
        "--satellite",
        action="append",
        default=[],
        metavar="URI",
        help="a satellite to connect to and serve, tcp://HOST:PORT (repeatable)",
    )
    serve.add_argument(
        "--zeroconf",
        action="store_true",
        help="advertise the server as _wyoming._tcp on the local network (needs zeroconf)",
    )
    serve.add_argument("--no-wake", action="store_true", help="do not offer wake-word detection")
    serve.add_argument(
        "--http",
        metavar="URI",
        help="serve the web page and the HTTP API on tcp://HOST:PORT (tcp://:PORT binds 127.0.0.1; "
        "any other address needs the token, shown once when made)",
    )
    serve.add_argument("--tls-cert", metavar="PEM", help="serve --http over HTTPS with this certificate")
    serve.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    serve.add_argument(
        "--require-token", action="store_true", help="ask for the web token on loopback too"
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, app: Any) -> int:
    if not args.wyoming and not args.satellite and not args.http:
        print("assistant serve: give --wyoming URI, --satellite URI and/or --http URI", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, app))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(args: argparse.Namespace, app: Any) -> None:
    from assistant.wyoming.server import AllowList, Endpoint, WyomingServer
    from assistant.wyoming.services import build_services

    endpoint = Endpoint.parse(args.wyoming) if args.wyoming else None
    links = [Endpoint.parse(uri) for uri in args.satellite]
    allow = AllowList(app.settings.wyoming.allow)
    if args.zeroconf:
        from assistant.wyoming.advertise import check_available

        check_available()
    web = _open_http(args, app) if args.http else None
    print("assistant serve: loading the models...", file=sys.stderr)
    started = time.monotonic()
    # A fresh home answers at once: the classifier trains in a job of its own behind the lexical matcher.
    nlu = app.brain(background=True).nlu
    show_notices(app)
    if not nlu.ready.is_set():
        threading.Thread(target=_say_when_trained, args=(app, nlu), name="nlu-trained", daemon=True).start()
    services = None
    if endpoint is not None or links:
        services = await asyncio.to_thread(build_services, app, wake=not args.no_wake, wait=False)
        if services.loading is not None:
            services.loading.add_done_callback(lambda _: _say_loaded(started))
    app.start_background()
    tasks = []
    advertised = None
    try:
        if web is not None:
            from assistant.web.server import serve_forever

            web.pipeline.warm()
            tasks.append(asyncio.create_task(serve_forever(web)))
            print(f"assistant serve: the web page on {web.url}", file=sys.stderr)
        if endpoint is not None and services is not None:
            server = WyomingServer(services, allow)
            bound = await server.start(endpoint)
            print(f"assistant serve: Wyoming on {bound}", file=sys.stderr)
            if args.zeroconf:
                from assistant.wyoming.advertise import Advertisement

                advertised = await asyncio.to_thread(Advertisement, bound)
                print(f"assistant serve: advertised as {advertised.name}", file=sys.stderr)
            tasks.append(asyncio.create_task(server.serve_forever()))
        if links and services is not None:
            from assistant.wyoming.satellite_link import SatelliteLinks

            def connection(link: Any, connected: bool) -> None:
                state = "connected" if connected else "left"
                print(f"assistant serve: satellite {link.name} {state} ({link.endpoint})", file=sys.stderr)

            satellites = SatelliteLinks(app, services, links, connection)
            tasks.append(asyncio.create_task(satellites.run()))
            names = ", ".join(str(link) for link in links)
            print(f"assistant serve: ready for satellites at {names}", file=sys.stderr)
        print(f"assistant serve: ready ({time.monotonic() - started:.1f} s to load)", file=sys.stderr, flush=True)
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        if advertised is not None:
            await asyncio.to_thread(advertised.close)
        if services is not None:
            services.close()


def _say_loaded(started: float) -> None:
    print(f"assistant serve: speech-to-text loaded ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)


def _say_when_trained(app: Any, nlu: Any) -> None:
    """The line that tells the server's user that the classifier took over (or failed to)."""
    nlu.ready.wait()
    print(visible(f"assistant serve: {app.notices[-1]}"), file=sys.stderr, flush=True)


def _open_http(args: argparse.Namespace, app: Any) -> Any:
    from assistant.web.server import HttpEndpoint, open_http

    web = open_http(app, HttpEndpoint.parse(args.http), args.tls_cert, args.tls_key, args.require_token)
    if web.new_token is not None:
        where = app.home.data / "web_token.sha256"
        print(f"assistant serve: the web token (shown once; only its hash is kept in {where}):", file=sys.stderr)
        print(f"assistant serve: token {web.new_token}", file=sys.stderr)
    return web
