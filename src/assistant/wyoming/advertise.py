"""`--zeroconf`: announce the server on the local network (mDNS `_wyoming._tcp`), as Home
Assistant's discovery expects. The `zeroconf` package is optional."""

from __future__ import annotations

import importlib.util
import socket
from typing import Any

from assistant.errors import ConfigError
from assistant.wyoming.server import Endpoint

SERVICE_TYPE = "_wyoming._tcp.local."


def check_available() -> None:
    """ConfigError now, before the models load, when the package is missing."""
    if importlib.util.find_spec("zeroconf") is None:
        raise ConfigError("--zeroconf needs the zeroconf package (pip install zeroconf)")


class Advertisement:
    """The server's mDNS record, registered until `close()` (blocking calls: run in a thread)."""

    def __init__(self, bound: Endpoint, name: str | None = None):
        from zeroconf import ServiceInfo, Zeroconf

        if bound.port is None:
            raise ConfigError("--zeroconf needs a tcp:// address")
        host_name = socket.gethostname().split(".")[0]
        address = bound.host or "127.0.0.1"
        if address in ("0.0.0.0", "::", ""):
            address = socket.gethostbyname(socket.gethostname())
        self.info: Any = ServiceInfo(
            SERVICE_TYPE,
            f"{name or 'assistant-' + host_name}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(address)],
            port=bound.port,
            server=f"{host_name}.local.",
        )
        self._zeroconf: Any = Zeroconf()
        self._zeroconf.register_service(self.info)

    @property
    def name(self) -> str:
        return str(self.info.name)

    def close(self) -> None:
        self._zeroconf.unregister_service(self.info)
        self._zeroconf.close()
