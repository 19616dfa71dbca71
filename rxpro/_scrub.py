"""Keeping credentials out of recordings: what ``rxpro.record`` writes and ``rxpro.replay`` matches.

Client frames: an authentication frame keeps only its structure (:func:`scrub_sent`);
URLs lose credential query parameters (:func:`scrub_url`); server answers lose session
tokens, which are then also blanked wherever they come back (:class:`Scrubber`).  The
replay uses the same functions to match what ccxt sends against what was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import orjson

__all__ = ["REDACTED", "Scrubber", "scrub_sent", "scrub_url"]

#: query parameters that carry credentials or signatures (dropped from recorded URLs)
_SECRET_NAMES = re.compile(
    r"^(signature|sign|sig|apikey|api_key|api-key|key|secret|passphrase|password|token|listenkey|"
    r"signed|auth|authorization|access_token|accesskey|access_key|nonce|timestamp|recvwindow)$",
    re.IGNORECASE,
)
#: JSON field names whose presence makes a client frame an authentication frame
_AUTH_FIELDS = re.compile(
    r"^(signature|sign|sig|signed|authsig|authpayload|authnonce|authtoken|apikey|api_key|api-key|"
    r"accesskey|access_key|access_token|refresh_token|client_secret|secret|secretkey|secret_key|"
    r"passphrase|password|passwd|privatekey|private_key|token|listenkey|listentoken|authorization)$",
    re.IGNORECASE,
)
#: the value of op/event/method/... that names an authentication frame
_AUTH_OPS = re.compile(r"auth|login|logon|signature", re.IGNORECASE)
_OP_FIELDS = ("op", "event", "method", "type", "action", "cmd", "command")
#: fields kept in an authentication frame (everything else in it is blanked)
_STRUCTURAL = frozenset({"op", "event", "method", "type", "action", "cmd", "command", "id", "req_id", "reqid",
                         "cid", "requestid", "jsonrpc", "channel", "grant_type"})
#: fields of a server answer (REST body or frame) holding a session token: blanked when the
#: value is long enough to be one (``"token": "USDT"`` in a currency list is data), and learned
_TOKEN_FIELDS = re.compile(
    r"^(listenkey|listentoken|token|wstoken|ws_token|access_token|accesstoken|refresh_token|refreshtoken|"
    r"session_token|sessiontoken)$",
    re.IGNORECASE,
)
_MIN_TOKEN = 16
#: fields of a server answer always blanked (a server echoing a credential)
_ECHOED_FIELDS = re.compile(r"^(apikey|api_key|secret|signature|passphrase|password)$", re.IGNORECASE)
_TOKEN_HINT = re.compile(
    r'"(?:listenKey|listenToken|token|wsToken|ws_token|access_token|accessToken|refresh_token|refreshToken|'
    r'session_token|sessionToken|apiKey|api_key|secret|signature|passphrase|password)"', re.IGNORECASE)
REDACTED = "REDACTED"
#: a secret shorter than this is replaced only as a whole JSON string / URL component, never as a substring
_MIN_SUBSTRING_SECRET = 8


def scrub_url(url: str, secrets: frozenset[str] | set[str] = frozenset()) -> str:
    """``url`` without credential or signature query parameters.

    A path segment or query value equal to one of ``secrets`` (e.g. Binance's
    ``/ws/<listenKey>``) becomes ``REDACTED``.
    """
    parts = urlsplit(url)
    path = parts.path
    if secrets and path:
        path = "/".join(REDACTED if unquote(segment) in secrets else segment for segment in path.split("/"))
    if not parts.query:
        return url if path == parts.path else urlunsplit((parts.scheme, parts.netloc, path, "", parts.fragment))
    kept = [(k, REDACTED if v in secrets else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _SECRET_NAMES.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(kept), parts.fragment))


def _is_auth_frame(message: Any) -> bool:
    if isinstance(message, dict):
        for field in _OP_FIELDS:
            value = message.get(field)
            if isinstance(value, str) and _AUTH_OPS.search(value):
                return True
        return any(_AUTH_FIELDS.match(str(k)) or _is_auth_frame(v) for k, v in message.items())
    if isinstance(message, list):
        return any(_is_auth_frame(v) for v in message)
    return False


def _blank_all(value: Any) -> Any:
    """Every string and number blanked (the values of an authentication frame)."""
    if isinstance(value, dict):
        return {k: v if str(k).lower() in _STRUCTURAL else _blank_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_all(v) for v in value]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != "":
        return REDACTED
    return value


def _scrub_tree(value: Any, secrets: frozenset[str] | set[str], learned: set[str] | None) -> Any:
    """Strings equal to a secret blanked; with ``learned`` (a server answer) also token fields.

    A blanked token's value is added to ``learned``.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            name = str(k)
            if learned is not None and isinstance(v, str) and v and v != REDACTED and (
                    _ECHOED_FIELDS.match(name) or (len(v) >= _MIN_TOKEN and _TOKEN_FIELDS.match(name))):
                learned.add(v)
                out[k] = REDACTED
            else:
                out[k] = _scrub_tree(v, secrets, learned)
        return out
    if isinstance(value, list):
        return [_scrub_tree(v, secrets, learned) for v in value]
    if isinstance(value, str) and value in secrets:
        return REDACTED
    return value


def scrub_sent(text: str, secrets: frozenset[str] | set[str] = frozenset()) -> str:
    """A client frame without credentials (text kept as is when there is nothing to blank).

    An authentication frame -- its ``op``/``event``/``method``/... names auth, login,
    logon or a signature, or it has a credential-like field (``signature``, ``sign``,
    ``authSig``, ``authPayload``, ``apiKey``, ``passphrase``, ``token``, ``listenKey``...)
    anywhere -- keeps only its structure (``op``, ``method``, ``id``, ``channel``...):
    every other string or number, positional ``args`` included, becomes ``REDACTED``.
    Any other frame: a JSON string equal to one of ``secrets`` is blanked.
    """
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _scrub_text(text, secrets)
    scrubbed = _blank_all(message) if _is_auth_frame(message) else _scrub_tree(message, secrets, None)
    return text if scrubbed == message else orjson.dumps(scrubbed).decode()


def _scrub_text(text: str, secrets: frozenset[str] | set[str]) -> str:
    """Non-JSON text: only secrets long enough not to collide with data are replaced."""
    for secret in secrets:
        if len(secret) >= _MIN_SUBSTRING_SECRET and secret in text:
            text = text.replace(secret, REDACTED)
    return text


class Scrubber:
    """Keeps credentials out of the file: configured ones, and session tokens learned on the way.

    Client frames: see :func:`scrub_sent`.  URLs: credential query parameters dropped,
    a path segment or query value equal to a secret blanked.  Server answers (REST
    bodies, received text frames) are parsed only when they may hold a credential
    field or contain a known secret: a session-token field (``listenKey``, ``token``,
    ``access_token``... with a value of 16+ characters) or an echoed ``apiKey``/
    ``secret``/``signature`` is blanked, and its value learned, so that it is blanked
    where it comes back (Binance's ``/ws/<listenKey>``, a frame's ``token``).
    Secrets are replaced as whole values, never inside other values: a short configured
    password or uid such as ``1234`` can't corrupt a price.  In server answers and as a
    last resort on each written line only secrets of 8+ characters are looked for.
    Binary frames are written as received.
    """

    def __init__(self, configured: Sequence[str]) -> None:
        self.secrets: set[str] = {s for s in configured if s}
        self._refresh()

    def _refresh(self) -> None:
        """The long secrets, as text and as they appear in a JSON line (kept: looked for per frame)."""
        self._long = {s for s in self.secrets if len(s) >= _MIN_SUBSTRING_SECRET}
        self._long_in_json = [orjson.dumps(s)[1:-1] for s in self._long]
        self._known = len(self.secrets)

    def url(self, url: str) -> str:
        return scrub_url(url, self.secrets)

    def sent(self, text: str) -> str:
        return scrub_sent(text, self.secrets)

    def answer(self, text: str) -> str:
        """A REST body or received frame with its credential fields and long secrets blanked."""
        long = self._long
        if not _TOKEN_HINT.search(text) and not any(s in text for s in long):
            return text
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return _scrub_text(text, long)
        scrubbed = _scrub_tree(message, long, self.secrets)
        if len(self.secrets) != self._known:  # learned a token
            self._refresh()
        return text if scrubbed == message else orjson.dumps(scrubbed).decode()

    def last_resort(self, line: bytes) -> bytes:
        """The written line, with any long secret that still got through replaced."""
        for encoded in self._long_in_json:
            if encoded in line:
                line = line.replace(encoded, REDACTED.encode())
        return line
