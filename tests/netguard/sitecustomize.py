"""Tests may reach only 127.0.0.1: any other connect() fails at once.

Imported by tests/conftest.py for the test process, and put on PYTHONPATH for the command-line runs the
tests start, so a library's side call (google-auth after a token refresh, say) cannot leave the machine.
"""

import socket

ALLOWED = {"127.0.0.1", "::1", "localhost"}
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ALLOWED:
        raise ConnectionRefusedError(f"network guard: tests may connect only to 127.0.0.1, not {address[0]}")


def _guarded_connect(self, address):
    _check(self, address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
