"""Listening ports: why a server cannot listen, in one line an operator can act on, and a free port for the
playground when its usual one is taken.

The port is tried before anything starts (workers, logs), so a busy port is all the operator reads; the server's own
bind still answers the same way if another program takes the port in between."""

from __future__ import annotations

import errno
import socket

import click


class CannotListen(click.ClickException):
    """One line on stderr, exit status 2: like a bad option, the server never started."""

    exit_code = 2


def listen_problem(error: OSError, host: str, port: int) -> CannotListen | None:
    """What to tell the operator when listening on ``host:port`` failed with ``error``, or None for another failure."""
    if error.filename is not None:  # a file the server could not open, not an address
        return None
    choose = "choose another with --port N or DUKABOT_PORT=N"
    if error.errno == errno.EADDRINUSE:
        return CannotListen(f"port {port} on {host} is already in use (another dukabot?): {choose}")
    if error.errno == errno.EACCES:
        return CannotListen(f"port {port} on {host} needs privileges this user lacks: {choose} (1024 or above)")
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return CannotListen(f"{host} is not an address of this machine: set DUKABOT_HOST (0.0.0.0 for every one)")
    return None


def ensure_can_listen(host: str, port: int) -> None:
    """Raise :class:`CannotListen` when ``host:port`` cannot be listened on for a reason the operator can mend."""
    error = _bind_error(host, port)
    problem = listen_problem(error, host, port) if error is not None else None
    if problem is not None:
        raise problem


def in_use(host: str, port: int) -> bool:
    error = _bind_error(host, port)
    return error is not None and error.errno == errno.EADDRINUSE


def free_port(host: str) -> int:
    """A port the system has no use for now (another program could take it before we listen: see the docstring)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _bind_error(host: str, port: int) -> OSError | None:
    try:
        with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's servers do
            probe.bind((host, port))
    except OSError as error:  # socket.gaierror too: a host name that does not resolve
        return error
    return None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
