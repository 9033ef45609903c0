"""File drop: hand messages to an existing communication server through two folders.

Many GP offices and hospitals run a communication server (a "kommunikasjonsserver") that sends
whatever appears in an outgoing folder over Norsk Helsenett and drops what it receives into an
incoming folder. This transport writes and reads those folders so that the outbox can deliver
exactly once across crashes (ADR 0024):

- `prepare` writes the whole document to `out/.staging/<msg_id>.xml` (through a temporary name,
  fsynced), so a half-written file never exists under the final name.
- `send` first writes a durable marker `out/.sent/<msg_id>` ("the rename may have happened"),
  then renames the staged file into `out/<msg_id>.xml` with `os.replace` (atomic within one file
  system: the point of no return) and fsyncs the folder.
- `reconcile`, after a crash while sending, reads the evidence: a staged file still there means the
  rename never happened (NOT_DELIVERED); a file in `out/` or a marker without a staged file means
  it did (DELIVERED, whether or not the communication server has taken the file away since);
  neither means `prepare` never finished, so nothing can have left (NOT_DELIVERED).

Incoming: the other side writes `in/<name>.xml` by rename, so only names ending in `.xml` are
complete; `fetch` returns them oldest first and `acknowledge` deletes the file once the database
holds its verbatim copy (IncomingMessage.payload): a second copy of patient data on disk, outside
the access log, would serve nobody. A file is opened without following links (O_NOFOLLOW) and read
only if that open file is a regular file no larger than a KITH message may be
(`kith.schemas.MAX_BYTES`); anything else is moved unread to `in/rejected/` and logged, for the
operator.

Pure: no Django here; the registry passes the folders from the settings.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
import uuid
from pathlib import Path

from telederm.interop.kith.schemas import MAX_BYTES
from telederm.interop.transports.base import (
    DELIVERED,
    NOT_DELIVERED,
    Fetched,
    Outgoing,
    Reconciled,
    TransportError,
)

logger = logging.getLogger(__name__)

STAGING = ".staging"
REJECTED = "rejected"
SENT_MARKERS = ".sent"
# Markers only matter while a message may still be `sending` (minutes); a month is plenty.
MARKER_MAX_AGE_SECONDS = 30 * 24 * 3600


class FileDropTransport:
    """Deliver through `out_dir` and receive from `in_dir` (folders a communication server
    shares)."""

    name = "file"

    def __init__(self, out_dir: Path | str, in_dir: Path | str, max_bytes: int = MAX_BYTES) -> None:
        self.out_dir = Path(out_dir)
        self.in_dir = Path(in_dir)
        self.max_bytes = max_bytes

    # Outgoing ------------------------------------------------------------------------------

    def _file_name(self, message: Outgoing) -> str:
        # The msg_id is a UUID we made; checking it keeps any path trickery out of the folders.
        return f"{uuid.UUID(message.msg_id)}.xml"

    def _staged(self, message: Outgoing) -> Path:
        return self.out_dir / STAGING / self._file_name(message)

    def _dropped(self, message: Outgoing) -> Path:
        return self.out_dir / self._file_name(message)

    def _marker(self, message: Outgoing) -> Path:
        return self.out_dir / SENT_MARKERS / str(uuid.UUID(message.msg_id))

    def prepare(self, message: Outgoing) -> None:
        """Write the whole document under `.staging/`; safe to repeat (it is rewritten)."""
        staged = self._staged(message)
        try:
            staged.parent.mkdir(parents=True, exist_ok=True)
            (self.out_dir / SENT_MARKERS).mkdir(parents=True, exist_ok=True)
            temporary = staged.with_name(f".{staged.name}.{uuid.uuid4().hex}.tmp")
            _write_durably(temporary, message.payload)
            os.replace(temporary, staged)
            _fsync_dir(staged.parent)
        except OSError as error:
            raise TransportError(f"could not stage the message: {error}") from error
        self._prune_markers()

    def send(self, message: Outgoing) -> str:
        """Rename the staged file into the outgoing folder; returns the file name."""
        staged, dropped, marker = (
            self._staged(message),
            self._dropped(message),
            self._marker(message),
        )
        try:
            if not staged.exists():
                if dropped.exists() or marker.exists():
                    return dropped.name  # delivered already: sending twice changes nothing
                raise TransportError("the message was not prepared", permanent=False)
            # The marker must be on disk before the rename can be: it is what tells a rename that
            # happened (and whose file the communication server then took) from one that did not.
            _write_durably(marker, b"")
            _fsync_dir(marker.parent)
            os.replace(staged, dropped)  # the point of no return
            _fsync_dir(self.out_dir)
            _fsync_dir(staged.parent)
        except OSError as error:
            raise TransportError(f"could not drop the message: {error}") from error
        return dropped.name

    def reconcile(self, message: Outgoing) -> Reconciled:
        """Did an interrupted `send` rename the file? (See the module's docstring.)"""
        if self._staged(message).exists():
            return NOT_DELIVERED
        if self._dropped(message).exists() or self._marker(message).exists():
            return DELIVERED
        return NOT_DELIVERED

    def _prune_markers(self) -> None:
        folder = self.out_dir / SENT_MARKERS
        cutoff = time.time() - MARKER_MAX_AGE_SECONDS
        try:
            for marker in folder.iterdir():
                if marker.stat().st_mtime < cutoff:
                    marker.unlink(missing_ok=True)
        except OSError:
            pass  # pruning is housekeeping; a failure here must not stop a delivery

    # Incoming ------------------------------------------------------------------------------

    def fetch(self, limit: int = 50) -> list[Fetched]:
        """Complete messages in the incoming folder, oldest first."""
        try:
            candidates = [
                entry
                for entry in os.scandir(self.in_dir)
                if entry.name.endswith(".xml")
                and not entry.name.startswith(".")
                and entry.is_file(follow_symlinks=False)
            ]
        except FileNotFoundError:
            return []
        except OSError as error:
            raise TransportError(f"could not list the incoming folder: {error}") from error
        candidates.sort(key=_age)
        fetched: list[Fetched] = []
        for entry in candidates:
            if len(fetched) >= limit:
                break
            try:
                payload = self._read(entry.name)
            except FileNotFoundError:
                continue  # taken by another worker meanwhile
            except _Refused as refused:
                logger.error("incoming file %s not read: %s", entry.name, refused)
                self._set_aside(entry.name)
                continue
            except OSError as error:
                raise TransportError(f"could not read {entry.name}: {error}") from error
            fetched.append(Fetched(ref=entry.name, payload=payload))
        return fetched

    def _read(self, name: str) -> bytes:
        """The file's bytes, read from one descriptor that is not a link and is a regular file
        of at most `max_bytes` (checked before reading, and while reading, in case it grows)."""
        try:
            descriptor = os.open(self.in_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise _Refused("it is a symbolic link") from error
            raise
        with os.fdopen(descriptor, "rb") as handle:
            facts = os.fstat(handle.fileno())
            if not stat.S_ISREG(facts.st_mode):
                raise _Refused("it is not a regular file")
            if facts.st_size > self.max_bytes:
                raise _Refused(f"{facts.st_size} bytes, more than {self.max_bytes}")
            payload = handle.read(self.max_bytes + 1)
        if len(payload) > self.max_bytes:
            raise _Refused(f"it grew to more than {self.max_bytes} bytes while being read")
        return payload

    def _set_aside(self, name: str) -> None:
        """Move a file that will not be read to `in/rejected/`, so it is not tried again."""
        try:
            (self.in_dir / REJECTED).mkdir(exist_ok=True)
            os.replace(self.in_dir / name, self.in_dir / REJECTED / name)
            _fsync_dir(self.in_dir)
        except OSError:
            logger.exception("could not move %s to %s/", name, REJECTED)

    def acknowledge(self, ref: str) -> None:
        """The database has the message: delete the file."""
        if Path(ref).name != ref or not ref.endswith(".xml"):
            raise TransportError(f"not an incoming file name: {ref!r}", permanent=True)
        try:
            (self.in_dir / ref).unlink(missing_ok=True)
            _fsync_dir(self.in_dir)
        except OSError as error:
            raise TransportError(f"could not remove {ref}: {error}") from error


class _Refused(Exception):
    """An incoming file that is not read: why."""


def _age(entry: os.DirEntry[str]) -> tuple[int, str]:
    try:
        return (entry.stat(follow_symlinks=False).st_mtime_ns, entry.name)
    except OSError:
        return (0, entry.name)  # gone or unreadable: tried first, and found out then


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` survive a power cut (POSIX: fsync the folder)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
