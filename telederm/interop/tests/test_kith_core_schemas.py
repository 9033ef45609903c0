"""The schema loader and the parser: offline, and hostile input refused before it costs anything.
Pure: no database."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lxml import etree

from telederm.interop.kith import errors, schemas

EXAMPLE = Path(__file__).parent / "examples/fiks-nhn/app-rec/1.1/example-ok.xml"


def _refused(data: bytes) -> errors.AppRecError:
    with pytest.raises(errors.InvalidMessage) as refused:
        schemas.validate(data)
    return refused.value.problems[0]


def test_every_vendored_schema_is_documented_in_sources() -> None:
    sources = (schemas.XSD_DIR / "SOURCES.md").read_text("utf-8")
    for xsd in sorted(schemas.XSD_DIR.glob("*.xsd")):
        assert xsd.name in sources, xsd.name


def test_the_wrapper_imports_every_covered_namespace() -> None:
    wrapper = etree.fromstring(schemas.wrapper_xsd())
    imported = {i.get("namespace") for i in wrapper}
    assert imported == set(schemas.SCHEMA_FILES)
    assert imported > schemas.PAYLOAD_NAMESPACES


def test_every_schema_location_goes_through_the_local_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    original = schemas._LocalResolver.resolve

    def recording(
        self: schemas._LocalResolver, url: str, public_id: str, context: object
    ) -> object:
        asked.append(url)
        return original(self, url, public_id, context)

    monkeypatch.setattr(schemas._LocalResolver, "resolve", recording)
    monkeypatch.setattr(schemas, "_schema", None)  # compile afresh
    schemas.combined_schema()
    # The URLs the official files name were asked of our resolver, which answers from disk.
    assert "http://www.kith.no/xmlstds/kith.xsd" in asked
    assert "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd" in asked
    schemas.validate(EXAMPLE.read_bytes())


@pytest.mark.parametrize(
    ("namespace", "location"),
    [
        (schemas.KITH, "http://www.kith.no/xmlstds/kith.xsd"),
        (schemas.KITH, "../../felleskomponenter/kith.xsd"),
        (schemas.XMLDSIG, "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"),
        (schemas.APPREC_11, "Apprec-v1.1.xsd"),  # ehelseCatalog.xml's spelling
    ],
)
def test_the_resolver_maps_any_location_to_the_vendored_file(namespace: str, location: str) -> None:
    doc = etree.fromstring(
        (
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">'
            f'<xs:import namespace="{namespace}" schemaLocation="{location}"/></xs:schema>'
        ).encode(),
        schemas._schema_parser(),
        base_url="http://example.invalid/a/b/wrapper.xsd",
    )
    etree.XMLSchema(doc)  # compiles: every import was found locally


def test_an_unknown_schema_location_is_never_fetched() -> None:
    resolver = schemas._LocalResolver()
    with pytest.raises(schemas.SchemaNotFound):
        resolver.resolve("http://example.org/evil.xsd", "", None)


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"not xml", b"<MsgHead>", b"\x00\x01\x02"],
)
def test_what_is_not_xml_is_t01(data: bytes) -> None:
    assert _refused(data).code == "T01"


def test_bytes_that_are_not_utf_8_are_refused_clearly() -> None:
    data = EXAMPLE.read_bytes().replace(b"<Name>", b"<Name>\xff\xfe", 1)
    problem = _refused(data)
    assert problem.code == "T01"
    assert "encoding" in problem.details


def test_a_declared_latin_1_message_is_read_in_its_encoding() -> None:
    text = EXAMPLE.read_text("utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = text.replace("Kattskinnet", "Kåttskinnet")
    root = schemas.validate(text.encode("latin-1"))
    assert "Kåttskinnet" in etree.tostring(root, encoding="unicode")


def test_xxe_is_refused_and_nothing_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE AppRec [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<AppRec xmlns="{schemas.APPREC_11}"><Id>&x;</Id></AppRec>'
    ).encode()
    problem = _refused(data)
    assert problem.code == "T01"
    assert "TOPSECRET" not in problem.details


def test_billion_laughs_is_refused_quickly() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    data = f'<?xml version="1.0"?><!DOCTYPE r [{entities}]><r>&a9;</r>'.encode()
    problem = _refused(data)
    assert problem.code == "T01"
    assert len(problem.details) < 500


def test_a_doctype_without_entities_is_refused_too() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE AppRec><AppRec xmlns="'
        + schemas.APPREC_11.encode()
        + b'"/>'
    )
    problem = _refused(data)
    assert problem.code == "T01" and "DOCTYPE" in problem.details


def test_a_root_we_do_not_read_is_t10() -> None:
    problem = _refused(b'<Message xmlns="http://www.kith.no/xmlstds/epikrise/2012-02-15"/>')
    assert problem.code == "T10"
    assert "Message" in problem.details and "epikrise" in problem.details


def test_a_root_without_namespace_is_t10() -> None:
    problem = _refused(b"<MsgHead/>")
    assert problem.code == "T10" and "(none)" in problem.details


def test_validate_returns_the_root() -> None:
    root = schemas.validate(EXAMPLE.read_bytes())
    assert etree.QName(root).localname == "AppRec"


def test_validate_payload_refuses_a_msghead_root() -> None:
    with pytest.raises(errors.InvalidMessage) as refused:
        schemas.validate_payload(b'<MsgHead xmlns="' + schemas.MSGHEAD.encode() + b'"/>')
    assert refused.value.problems[0].code == "T10"


def test_a_doctype_in_utf_16_is_refused_too() -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE AppRec>'
        f'<AppRec xmlns="{schemas.APPREC_11}"/>'
    )
    problem = _refused(text.encode("utf-16"))
    assert problem.code == "T01" and "DOCTYPE" in problem.details


def test_an_attachment_larger_than_libxml2s_text_limit_is_read() -> None:
    # libxml2 refuses text nodes over 10 MB unless told otherwise; photos and PDFs in base64
    # pass that, so the parser lifts it and caps the whole message instead.
    data = b"\xff" * (8 * 1024 * 1024)
    encoded = base64.b64encode(data)
    assert len(encoded) > 10_000_000
    message = EXAMPLE.read_bytes().replace(
        b"<AppRec ", b"<AppRec xmlns:b64='" + schemas.BASE64.encode() + b"' "
    )
    with pytest.raises(errors.InvalidMessage) as refused:  # not an AppRec element: schema says so
        schemas.validate(
            message.replace(
                b"</AppRec>",
                b"<b64:Base64Container>" + encoded + b"</b64:Base64Container></AppRec>",
            )
        )
    assert refused.value.problems[0].code == "T02"  # parsed, then validated; not T01


def test_a_message_over_the_size_cap_is_refused_unparsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schemas, "MAX_BYTES", 1000)
    problem = _refused(EXAMPLE.read_bytes() + b" " * 1000)
    assert problem.code == "T01" and "larger than 1000 bytes" in problem.details
