"""Keyed hashes of personal ids (HMAC-SHA256 with a key from settings.PRIVACY_HASH_KEY).

A plain sha256 of an openid could be reversed by hashing candidate ids; a keyed hash
cannot without the key. Two purposes, two salts, so a pseudonym stored in events never
equals the erasure record's hash of the same id.
"""

from django.conf import settings
from django.utils.crypto import salted_hmac

PSEUDONYM_PREFIX = "anon:"


def id_hash(value: str) -> str:
    """64 hex digits identifying an erased id in erasure records."""
    return salted_hmac(
        "wxanalytics.privacy.erased-id", value, secret=settings.PRIVACY_HASH_KEY, algorithm="sha256"
    ).hexdigest()


def pseudonym(value: str) -> str:
    """What an id becomes after the retention period: the same id always gives the same
    pseudonym, so counts of distinct people in rebuilt reports do not change."""
    digest = salted_hmac("wxanalytics.privacy.pseudonym", value, secret=settings.PRIVACY_HASH_KEY, algorithm="sha256")
    return PSEUDONYM_PREFIX + digest.hexdigest()[:40]
