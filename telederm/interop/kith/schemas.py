"""Validation of KITH messages against the official schemas, offline.

Every message we send and every message we accept passes `validate` first. The schemas are
vendored in `xsd/` (see xsd/SOURCES.md) and loaded with a resolver that maps each schemaLocation,
whatever URL or relative path it names, to the local file of the same name: nothing is fetched
from the network, ever (ADR 0023).

MsgHead 1.2 declares `Document/RefDoc/Content` with `processContents="strict"`, so it can only be
validated together with the schemas of every payload it may carry. We therefore compile one
combined schema (a small generated wrapper that imports each namespace we cover) once per process.

Pure: no Django.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

from . import errors

XSD_DIR = Path(__file__).resolve().parent / "xsd"

MSGHEAD = "http://www.kith.no/xmlstds/msghead/2006-05-24"
APPREC_10 = "http://www.kith.no/xmlstds/apprec/2004-11-21"
APPREC_11 = "http://www.kith.no/xmlstds/apprec/2012-02-15"
DIALOG_10 = "http://www.kith.no/xmlstds/dialog/2006-10-11"
DIALOG_11 = "http://www.kith.no/xmlstds/dialog/2013-01-23"
HENVISNING_20 = "http://ehelse.no/xmlstds/henvisning/2017-11-30"
EPIKRISE_12 = "http://www.kith.no/xmlstds/epikrise/2012-02-15"
BASE64 = "http://www.kith.no/xmlstds/base64container"
KITH = "http://www.kith.no/xmlstds"
FK1 = "http://www.kith.no/xmlstds/felleskomponent1"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"

# Namespace → the vendored schema file that defines it. The first block is what may travel
# inside a MsgHead's Content or stand alone (AppRec); the rest are shared components.
SCHEMA_FILES: dict[str, str] = {
    MSGHEAD: "MsgHead-v1_2.xsd",
    APPREC_10: "AppRec-v1-2004-11-21.xsd",
    APPREC_11: "AppRec-v1.1.xsd",
    DIALOG_10: "dialogmelding.xsd",
    DIALOG_11: "dialogmelding-v1.1.xsd",
    HENVISNING_20: "Henvisning-v2.0.xsd",
    EPIKRISE_12: "Epikrise-v1.2.xsd",
    BASE64: "kith-base64.xsd",
}

# Payload namespaces a MsgHead Document may carry here (what the combined schema knows).
PAYLOAD_NAMESPACES = frozenset(
    {APPREC_10, APPREC_11, DIALOG_10, DIALOG_11, HENVISNING_20, EPIKRISE_12, BASE64}
)

# Documents we accept as a whole message: a MsgHead, or an AppRec on its own (as NHN's message
# service and the fiks-nhn and KITH examples carry it).
ROOTS = frozenset({(MSGHEAD, "MsgHead"), (APPREC_10, "AppRec"), (APPREC_11, "AppRec")})

# Names some schemaLocations use that differ from the vendored file's name.
_ALIASES = {
    "apprec-v1.1.xsd": "AppRec-v1.1.xsd",  # ehelseCatalog.xml spells it "Apprec-v1.1.xsd"
    "apprec-v1.0.xsd": "AppRec-v1-2004-11-21.xsd",  # fiks-nhn's flat name
    "dialogmelding-v1.0.xsd": "dialogmelding.xsd",
}

# Bigger than any message NHN carries (its message service limits messages to tens of MB), small
# enough that a hostile document cannot exhaust memory.
MAX_BYTES = 100 * 1024 * 1024


class SchemaNotFound(LookupError):
    """A schemaLocation that names no vendored file: we never fall back to the network."""


class _LocalResolver(etree.Resolver):
    """Maps any schemaLocation (URL or relative path) to the vendored file of that basename."""

    def __init__(self) -> None:
        super().__init__()
        self._files = {p.name.lower(): p for p in XSD_DIR.glob("*.xsd")}

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        name = system_url.replace("\\", "/").rsplit("/", 1)[-1].lower()
        name = _ALIASES.get(name, name)
        path = self._files.get(name.lower())
        if path is None:
            raise SchemaNotFound(f"no vendored schema for {system_url!r}")
        return self.resolve_filename(str(path), context)


def _schema_parser() -> etree.XMLParser:
    # The W3C xmldsig schema carries an internal DTD subset; it is our own vendored file, so its
    # internal entities may be read, but nothing external is loaded.
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=True)
    parser.resolvers.add(_LocalResolver())
    return parser


def wrapper_xsd() -> bytes:
    """The generated schema that imports every namespace we cover."""
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{name}"/>'
        for ns, name in SCHEMA_FILES.items()
    )
    return (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="urn:telederm:kith:combined">' + imports + "</xs:schema>"
    ).encode()


_lock = threading.Lock()
_validate_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def combined_schema() -> etree.XMLSchema:
    """The combined schema, compiled once per process (the first call takes a moment)."""
    global _schema
    if _schema is None:
        with _lock:
            if _schema is None:
                doc = etree.fromstring(
                    wrapper_xsd(), _schema_parser(), base_url=str(XSD_DIR / "combined.xsd")
                )
                _schema = etree.XMLSchema(doc)
    return _schema


# "<!DOCTYPE" as it appears in the encodings a message may declare (ASCII-compatible ones, and
# UTF-16 either way round).
_DOCTYPES = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))


def _message_parser() -> etree.XMLParser:
    # Incoming bytes are hostile until proven otherwise: no DTD, no entity expansion, no
    # network (XXE, "billion laughs"); a DOCTYPE is refused before parsing. huge_tree lifts
    # libxml2's 10 MB limit on one text node, which a photo or PDF in base64 passes; the whole
    # message is capped at MAX_BYTES instead.
    return etree.XMLParser(
        no_network=True,
        load_dtd=False,
        resolve_entities=False,
        dtd_validation=False,
        huge_tree=True,
        remove_comments=False,
    )


def parse(xml: bytes) -> etree._Element:
    """Parse bytes into an element tree, refusing what is not plain, well-formed XML (T01)."""
    if not isinstance(xml, bytes | bytearray):
        raise errors.InvalidMessage([errors.problem(errors.NOT_XML, "a message is bytes")])
    if not xml.strip():
        raise errors.InvalidMessage([errors.problem(errors.NOT_XML, "the message is empty")])
    if len(xml) > MAX_BYTES:
        raise errors.InvalidMessage(
            [errors.problem(errors.NOT_XML, f"the message is larger than {MAX_BYTES} bytes")]
        )
    if any(doctype in xml for doctype in _DOCTYPES):
        raise errors.InvalidMessage(
            [errors.problem(errors.NOT_XML, "a DOCTYPE is not allowed in a KITH message")]
        )
    try:
        root = etree.fromstring(bytes(xml), _message_parser())
    except etree.XMLSyntaxError as exc:
        detail = str(exc)
        if "encoding" in detail.lower() or "utf-8" in detail.lower():
            detail = f"not text in its declared encoding (UTF-8 unless declared): {detail}"
        raise errors.InvalidMessage([errors.problem(errors.NOT_XML, detail)]) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise errors.InvalidMessage(
            [errors.problem(errors.NOT_XML, "a DOCTYPE is not allowed in a KITH message")]
        )
    return root


def _qname(element: etree._Element) -> tuple[str, str]:
    q = etree.QName(element)
    return (q.namespace or "", q.localname)


def _check_payload_namespaces(root: etree._Element) -> list[errors.AppRecError]:
    problems = []
    for content in root.iter(f"{{{MSGHEAD}}}Content"):
        for child in content:
            if not isinstance(child.tag, str):
                continue  # comments
            ns, name = _qname(child)
            if ns not in PAYLOAD_NAMESPACES:
                problems.append(
                    errors.problem(
                        errors.UNSUPPORTED_FORMAT,
                        f"line {child.sourceline}: a document {name!r} in namespace "
                        f"{ns or '(none)'!r} is not a format Telederm reads",
                    )
                )
    return problems


def validate(xml: bytes) -> etree._Element:
    """Parse and validate a whole message (a MsgHead, or a bare AppRec); return its root.

    Raises `errors.InvalidMessage` with T01 (not XML), T10 (a root or payload we do not cover)
    or T02 (schema violations, each with its line and the validator's message).
    """
    root = parse(xml)
    ns, name = _qname(root)
    if (ns, name) not in ROOTS:
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT,
                    f"the root element {name!r} in namespace {ns or '(none)'!r} is neither "
                    "a MsgHead 1.2 nor an AppRec 1.0/1.1",
                )
            ]
        )
    if problems := _check_payload_namespaces(root):
        raise errors.InvalidMessage(problems)
    validate_element(root)
    return root


def validate_payload(xml: bytes) -> etree._Element:
    """Validate a bare payload document (a Dialogmelding, Henvisning or Epikrise without its
    MsgHead, as some of KITH's examples are); return its root. Messages use `validate`."""
    root = parse(xml)
    ns, name = _qname(root)
    if ns not in PAYLOAD_NAMESPACES:
        raise errors.InvalidMessage(
            [
                errors.problem(
                    errors.UNSUPPORTED_FORMAT,
                    f"the root element {name!r} in namespace {ns or '(none)'!r} is not a "
                    "payload Telederm reads",
                )
            ]
        )
    validate_element(root)
    return root


def validate_element(root: etree._Element) -> None:
    """Validate an element tree (already parsed) against the combined schema."""
    schema = combined_schema()
    # An XMLSchema keeps its error log on itself: one validation at a time.
    with _validate_lock:
        ok = schema.validate(root.getroottree() if root.getparent() is None else root)
        log = list(schema.error_log)
    if not ok:
        raise errors.InvalidMessage(
            [errors.problem(errors.INVALID, f"line {e.line}: {e.message}") for e in log]
            or [errors.problem(errors.INVALID, "the document does not match its schema")]
        )
