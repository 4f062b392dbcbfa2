"""Official Account push signatures (WECHAT.md §2.1, §2.5).

WeChat signs every request to the callback URL with sha1 over the sorted token,
timestamp and nonce; encrypted pushes add `msg_signature`, which also covers the
`Encrypt` element. Comparisons are constant-time so the token cannot be guessed byte
by byte from response timings.

In plaintext mode the signature does not cover the body, so a signed query seen once (in
a log, a proxy) would let anyone post any XML with it. `is_fresh` bounds that to the
freshness window (WECHAT_PUSH_MAX_AGE_SECONDS); keeping queries out of logs is
wxanalytics.logs.
"""

import hashlib
import hmac


def sign(*parts: str) -> str:
    """sha1 hex digest of the parts sorted as strings and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's algorithm)


def check_signature(*, token: str, timestamp: str, nonce: str, signature: str) -> bool:
    """True when `signature` is WeChat's sha1 of token, timestamp and nonce."""
    if not (token and timestamp and nonce and signature):
        return False
    return hmac.compare_digest(sign(token, timestamp, nonce), signature.lower())


def is_fresh(timestamp: str, *, now: float, max_age: int) -> bool:
    """True when the signed `timestamp` (Unix seconds) is within `max_age` seconds of `now`,
    either way (our clock may be behind WeChat's)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now) <= max_age


def check_msg_signature(*, token: str, timestamp: str, nonce: str, encrypted: str, msg_signature: str) -> bool:
    """True when `msg_signature` is WeChat's sha1 of token, timestamp, nonce and the ciphertext."""
    if not (token and timestamp and nonce and encrypted and msg_signature):
        return False
    return hmac.compare_digest(sign(token, timestamp, nonce, encrypted), msg_signature.lower())
