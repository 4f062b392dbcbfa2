"""Official Account encrypted push ("compatible" and "safe" modes, WECHAT.md §2.5).

The console's EncodingAESKey (43 characters) is base64 for a 32-byte AES key. Messages
are AES-256-CBC with IV = key[:16] and PKCS#7 padding to 32-byte blocks; the plaintext is
random(16) + length(4, big-endian) + XML + appid. `encrypt` exists for encrypted replies
and so tests can build their own vectors with the same documented steps.
"""

import base64
import binascii
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32  # WeChat pads to 32 bytes, not AES's 16.


class PushCryptoError(ValueError):
    """The ciphertext cannot be opened with this app's key, or was not meant for it."""


def aes_key_from_encoding_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a console EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise PushCryptoError("The EncodingAESKey must be 43 characters.")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise PushCryptoError("The EncodingAESKey is not valid base64.") from None
    if len(key) != 32:
        raise PushCryptoError("The EncodingAESKey does not decode to 32 bytes.")
    return key


def _pad(data: bytes) -> bytes:
    amount = BLOCK_SIZE - len(data) % BLOCK_SIZE
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    if not data:
        raise PushCryptoError("Empty plaintext.")
    amount = data[-1]
    if not 1 <= amount <= BLOCK_SIZE or amount > len(data):
        raise PushCryptoError("Bad padding.")
    return data[:-amount]


def encrypt(xml: bytes, *, encoding_aes_key: str, appid: str, random_prefix: bytes | None = None) -> str:
    """Base64 ciphertext of `xml` for `appid`, as WeChat would put it in <Encrypt>."""
    key = aes_key_from_encoding_key(encoding_aes_key)
    prefix = os.urandom(16) if random_prefix is None else random_prefix
    if len(prefix) != 16:
        raise PushCryptoError("The random prefix must be 16 bytes.")
    plaintext = _pad(prefix + struct.pack(">I", len(xml)) + xml + appid.encode())
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode()


def decrypt(encrypted: str, *, encoding_aes_key: str, appid: str) -> bytes:
    """The XML inside <Encrypt>; raises PushCryptoError unless it opens and names `appid`."""
    key = aes_key_from_encoding_key(encoding_aes_key)
    try:
        ciphertext = base64.b64decode(encrypted, validate=True)
    except binascii.Error:
        raise PushCryptoError("<Encrypt> is not valid base64.") from None
    if not ciphertext or len(ciphertext) % 16:
        raise PushCryptoError("The ciphertext length is not a multiple of the AES block size.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plaintext = _unpad(decryptor.update(ciphertext) + decryptor.finalize())
    if len(plaintext) < 20:
        raise PushCryptoError("The plaintext is too short.")
    (length,) = struct.unpack(">I", plaintext[16:20])
    xml, trailing_appid = plaintext[20 : 20 + length], plaintext[20 + length :]
    if len(xml) != length:
        raise PushCryptoError("The declared message length exceeds the plaintext.")
    if trailing_appid.decode(errors="replace") != appid:
        raise PushCryptoError("The message was encrypted for another appid.")
    return xml
