"""One place that keeps secrets out of messages, logs and output files."""

from __future__ import annotations

import re

_SECRETS: set[str] = set()
_QUERY_SECRET = re.compile(r"(?i)\b(access_token|token|api_key|key|password)=([^&\s\"'>]+)")
_HEADER_SECRET = re.compile(
    r"(?i)(x-shopify-access-token|access-token|authorization)(['\"]?\s*[:=]\s*['\"]?)"
    r"((?:bearer |basic |oauth )?[^'\",\s]+)"
)
MASK = "***"


def register_secret(value: str) -> None:
    """Remember a secret value so `redact` masks it wherever it appears."""
    if len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Mask registered secrets, `access_token=` style query values and auth headers.

    >>> redact("GET /insights?access_token=EAAB123&limit=5")
    'GET /insights?access_token=***&limit=5'
    """
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
