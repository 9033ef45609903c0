"""Keep person identifiers and e-mail addresses out of the application log.

`RedactPersonalData` is a logging filter on every handler in settings.LOGGING. It formats each
record's message with its arguments, replaces anything that looks like a Norwegian person number
(11 digits, also written `DDMMYY NNNNN`) or an e-mail address, and does the same to the formatted
traceback, before any handler writes the record anywhere. A log line keeps its shape; the
identifier is gone.

It is a safety net, not a licence: code should log case and object UUIDs, never names, numbers or
addresses.
"""

from __future__ import annotations

import logging
import re

PERSON_NUMBER_REDACTED = "[person-number]"
EMAIL_REDACTED = "[e-mail]"

# Fødselsnummer, D-nummer, H-nummer and synthetic numbers are all 11 digits. Longer runs of
# digits are redacted whole (an identifier glued to other digits is still an identifier); a
# 6 + 5 split with a space, dot or hyphen is how people often type them.
_PERSON_NUMBER = re.compile(r"(?<!\d)(?:\d{11,}|\d{6}[ .-]\d{5})(?!\d)")
# Deliberately broad: \w includes æ, ø and å, which Norwegian addresses may contain.
_EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """The text with person numbers and e-mail addresses replaced."""
    text = _EMAIL.sub(EMAIL_REDACTED, text)
    return _PERSON_NUMBER.sub(PERSON_NUMBER_REDACTED, text)


class RedactPersonalData(logging.Filter):
    """A handler filter that redacts the message, its arguments and any traceback of a record.

    The record is changed in place (message formatted, `args` cleared, traceback formatted to
    text and `exc_info` dropped), so every handler and formatter after it sees only the redacted
    text. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a bad format string must not lose the record)
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
