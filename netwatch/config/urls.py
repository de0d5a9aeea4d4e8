"""URLs in the config hold no credentials: no user:password@, no token in query or path.

Secrets reach netwatch only by reference ({env: ...} or {file: ...}); a URL is logged, shown
in errors and stored with queued notifications, so a credential inside one would leak
everywhere. Each service has a place for its secret: InfluxDB `token`/`password`, webhook
`secret` (HMAC), Telegram `token`, e-mail `password`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

# Query parameter names that carry credentials in common APIs.
SECRET_PARAMS = frozenset(
    (
        "token", "access_token", "auth", "auth_token", "apikey", "api_key", "key", "secret",
        "password", "passwd", "pass", "pwd", "sig", "signature", "code", "client_secret",
        "private_token", "session", "sessionid", "jwt", "bearer", "hmac", "u", "p",
    )
)  # fmt: skip
_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{24,}")
_HOW = "secrets are never written inline: use the service's secret field with {env: ...}"


def _looks_like_token(part: str) -> bool:
    """A long run of letters and digits mixed, as bot tokens, webhook keys and UUIDs are."""
    if not _TOKENISH.fullmatch(part):
        return False
    digits = sum(c.isdigit() for c in part)
    letters = sum(c.isalpha() for c in part)
    return digits >= 4 and letters >= 4


def check_url(value: str) -> None:
    """Raise ValueError when value is not http(s) or carries a credential (never echoed)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{redact(value)!r} is not an http:// or https:// URL")
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"a URL must not hold user:password@ ({_HOW})")
    for name, val in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in SECRET_PARAMS or _looks_like_token(val):
            raise ValueError(f"query parameter {name!r} looks like a credential ({_HOW})")
    for segment in parts.path.split("/"):
        if _looks_like_token(segment):
            raise ValueError(f"a path segment looks like a token ({_HOW})")


def redact(url: str) -> str:
    """url without user info and query values, for messages that must never leak one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{k}=..." for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return parts._replace(netloc=host, query=query).geturl()
