"""Keeping credentials out of every text the tap writes: logs, errors, output.

Secrets are kept out at the source (the request body, which carries them, is never logged); this
is the net under that, for texts that may quote them (a fault string, a library's error).
"""
from __future__ import annotations

import re
from functools import lru_cache


# A secret this long is replaced wherever it appears; a shorter one only where it stands alone, so
# that a one-letter username does not turn every "u" of a message into "***".
WHOLE_WORD_BELOW = 6


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and secret in text:
            if len(secret) >= WHOLE_WORD_BELOW:
                text = text.replace(secret, "***")
            else:
                text = _standalone(secret).sub("***", text)
    return text


@lru_cache(maxsize=16)
def _standalone(secret: str) -> re.Pattern:
    before = r"(?<![A-Za-z0-9])" if secret[0].isalnum() else ""
    after = r"(?![A-Za-z0-9])" if secret[-1].isalnum() else ""
    return re.compile(before + re.escape(secret) + after)
