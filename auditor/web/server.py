"""Starting the app: who may listen where, then uvicorn.

A bind to this machine (127.0.0.1, ::1, localhost) may run without accounts:
the person at the keyboard is the reviewer. Any other address puts client
recordings on the network, so it needs at least one account; without one the
server refuses to start.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from auditor.errors import ConfigError
from auditor.web.accounts import has_accounts

log = logging.getLogger(__name__)


def is_local(host: str) -> bool:
    """A loopback address or 'localhost': reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(engine: Any, host: str) -> None:
    """Refuse a bind beyond this machine while no account exists."""
    if not is_local(host) and not has_accounts(engine):
        raise ConfigError(
            f"refusing to listen on {host} without accounts: anyone on the network could hear "
            "the recordings; add one with 'auditor users add NAME --role reviewer' "
            "(or listen on 127.0.0.1)")


def build_app(settings: Any, host: str, secret_key: str | None = None) -> Any:
    """The app for a bind: the Host header is checked on a local one (DNS rebinding)."""
    from auditor import store
    from auditor.web.app import create_app

    engine = store.make_engine(settings.db)
    check_bind(engine, host)
    allowed = None if is_local(host) else ["*"]
    return create_app(engine, settings, secret_key=secret_key, allowed_hosts=allowed)


def serve(app: Any, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the app from :func:`build_app` until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False,
                proxy_headers=False)
