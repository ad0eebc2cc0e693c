"""Helpers for the hostile-input tests: token forging, a raw HTTP client and the shared invariant."""

import base64
import contextlib
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

TRACE_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"django.core.exceptions", b"SECRET_KEY")


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def sign(payload: dict[str, Any], key: str, *, algorithm: str = "HS256", headers: Any = None) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def raw_token(header: bytes | str, payload: bytes | str, signature: str = "") -> str:
    """Build a token from raw JSON segments (duplicate keys, odd types) with a given signature."""
    return f"{b64(header)}.{b64(payload)}.{signature}"


def hs256(token_without_sig: str, key: str) -> str:
    import hashlib
    import hmac

    mac = hmac.new(key.encode(), token_without_sig.encode(), hashlib.sha256).digest()
    return f"{token_without_sig}.{b64(mac)}"


def claims_like(access: str, **changes: Any) -> dict[str, Any]:
    """Return the claims of a real access token with changes applied (None deletes a claim)."""
    payload = unverified(access)
    payload["jti"] = uuid.uuid4().hex
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def now() -> int:
    return int(time.time())


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Req:
    method: str
    path: str
    headers: list[tuple[str, bytes | str]] = field(default_factory=list)
    body: bytes = b""
    host: str | None = None


def send(base_url: str, req: Req, *, timeout: float = 60.0) -> Reply:
    """Send one request byte for byte (no client-side validation of headers) and read the reply."""
    host_port = base_url.split("://", 1)[1]
    host, port = host_port.split(":")
    lines = [f"{req.method} {req.path} HTTP/1.1".encode(), b"Host: " + (req.host or host_port).encode()]
    lines.append(b"Connection: close")
    for name, value in req.headers:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode("utf-8")))
    if req.body or req.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(req.body)}".encode())
    data = b"\r\n".join(lines) + b"\r\n\r\n" + req.body
    started = time.monotonic()
    chunks = []
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        # The server may answer (e.g. 400) and close before reading a huge request.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Reply(int(status_line.split()[1]), headers, body, time.monotonic() - started)


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


def json_body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def assert_safe(
    status: int, body: bytes, content_type: str, *, path: str, secrets: list[str], allowed: set[int]
) -> None:
    """The invariant: an expected 4xx, JSON under /api/, no traceback, no secret in the body."""
    assert status in allowed, (status, body[:300])
    assert status < 500, (status, body[:300])
    for marker in TRACE_MARKERS:
        assert marker not in body, (marker, body[:300])
    for secret in secrets:
        if secret:
            assert secret.encode() not in body, "a secret leaked into the response body"
    if path.startswith("/api/") and body:
        assert content_type.startswith("application/json"), (content_type, body[:200])
        json.loads(body)
