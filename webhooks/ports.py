"""Listening ports: why a server could not listen, in one line an operator can act on, and a free port for the
playground when its usual one is taken."""

from __future__ import annotations

import errno
import socket

import click


class CannotListen(click.ClickException):
    """One line on stderr, exit status 2: like a bad option, the server never started."""

    exit_code = 2


def listen_problem(error: OSError, host: str, port: int) -> CannotListen | None:
    """What to tell the operator when binding ``host:port`` failed with ``error``, or None for another failure."""
    if error.filename is not None:  # a file the server could not open, not an address
        return None
    choose = "choose another with --port N or DUKABOT_PORT=N"
    if error.errno == errno.EADDRINUSE:
        return CannotListen(f"port {port} on {host} is already in use (another dukabot?): {choose}")
    if error.errno == errno.EACCES:
        return CannotListen(f"port {port} on {host} needs privileges this user lacks: {choose} (1024 or above)")
    if error.errno == errno.EADDRNOTAVAIL:
        return CannotListen(f"{host} is not an address of this machine: set DUKABOT_HOST (0.0.0.0 for every one)")
    return None


def is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (asyncio's servers reuse addresses, so this probe does)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port the system has no use for now. Another program could take it before we listen: the caller's bind then
    fails like any busy port, with the same one-line answer."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
