"""Starting the app: who may listen where, then uvicorn.

A bind to this machine (127.0.0.1, ::1, localhost) may run without accounts:
the person at the keyboard is the reviewer. Any other address puts client
recordings on the network, so it needs at least one account; without one the
server refuses to start.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.web.accounts import config_accounts, has_accounts

log = logging.getLogger(__name__)


def is_local(host: str) -> bool:
    """A loopback address or 'localhost': reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(engine: Any, host: str, accounts: dict[str, str] | None = None) -> None:
    """Refuse a bind beyond this machine while no account exists (database or config)."""
    if not is_local(host) and not has_accounts(engine, config_accounts(accounts or {})):
        raise ConfigError(
            f"refusing to listen on {host} without accounts: anyone on the network could hear "
            "the recordings; add one with 'auditor users add NAME --role reviewer' "
            "(or listen on 127.0.0.1)")


def build_app(settings: Any, host: str, secret_key: str | None = None, https: bool = False
              ) -> Any:
    """The app for a bind: the Host header is checked on a local one (DNS rebinding).

    ``https``: served over TLS, so the session cookie is marked Secure too.
    """
    from auditor import store
    from auditor.web.app import create_app

    engine = store.make_engine(settings.db)
    check_bind(engine, host, settings.accounts)
    from auditor.web.app import LOCAL_HOSTS

    # A local bind answers to this machine's names (and the address it was given) only.
    allowed = [*LOCAL_HOSTS, host.strip("[]")] if is_local(host) else ["*"]
    return create_app(engine, settings, secret_key=secret_key, allowed_hosts=allowed,
                      https_only=https)


def check_tls(cert: Path | None, key: Path | None) -> bool:
    """Both files or neither; True when TLS is on."""
    if (cert is None) != (key is None):
        raise ConfigError("--tls-cert and --tls-key go together: give both or neither")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise ConfigError(f"no such file: {path}")
    return cert is not None


def serve(app: Any, host: str = "127.0.0.1", port: int = 8080, cert: Path | None = None,
          key: Path | None = None) -> None:
    """Run the app from :func:`build_app` until interrupted (over TLS with cert and key)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False,
                proxy_headers=False, ssl_certfile=str(cert) if cert else None,
                ssl_keyfile=str(key) if key else None)
