"""Tenant names and API tokens.

A token is 32 random bytes (`pt_` + URL-safe base64), shown once when made; the catalog keeps
only its SHA-256. A fast hash is enough for a secret with 256 bits of entropy (a slow one
protects guessable passwords), and it lets a request's token be looked up by an index.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from personal.errors import PersonalError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PREFIX = "pt_"


class BadTenantName(PersonalError):
    pass


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise BadTenantName(
            f"{name[:40]!r} is not a tenant name",
            hint="1 to 32 characters: lowercase letters, digits, '-' and '_', starting with a "
            "letter or digit (it never becomes a path)",
        )
    return name


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()
