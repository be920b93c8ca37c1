"""Encryption at rest of bank account numbers: Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`.

A `Vault` holds the keys of LOANLINE_DATA_KEY, newest first, as one `MultiFernet`: the newest encrypts,
any of them decrypts, so a key can be added in front and the stored numbers re-encrypted (`rotate`)
while the old key still opens whatever has not been rotated yet (docs/ach.md: key rotation).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from servicing.errors import InvalidInput, ServicingError


class UnreadableSecret(ServicingError):
    """A stored secret that none of the configured keys opens (a key was dropped before rotation finished)."""


def new_key() -> str:
    """Return a fresh Fernet key (url-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


class Vault:
    """Seal and open short secrets with the configured keys; the first key seals."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise InvalidInput("no data key: set LOANLINE_DATA_KEY")
        try:
            self._keys = [Fernet(key.encode("ascii")) for key in keys]
        except ValueError as error:
            raise InvalidInput("LOANLINE_DATA_KEY holds a key that is not a Fernet key") from error
        self._all = MultiFernet(self._keys)

    def seal(self, secret: str) -> str:
        """Return `secret` encrypted with the newest key."""
        return self._all.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        """Return the secret a token holds, trying every key; refuse a token none of them opens."""
        try:
            return self._all.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as error:
            raise UnreadableSecret("a stored bank account number opens with none of the configured keys") from error

    def is_current(self, token: str) -> bool:
        """Tell whether a token is already sealed with the newest key."""
        try:
            self._keys[0].decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Return the token re-sealed with the newest key (opened with whichever key sealed it)."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as error:
            raise UnreadableSecret("a stored bank account number opens with none of the configured keys") from error
