"""The address register: importing a file (all or nothing, every problem with its line), gp_of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telederm.accounts.models import Organisation, User
from telederm.interop import addresses
from telederm.interop.models import AddressEntry

pytestmark = pytest.mark.django_db

EXAMPLE = Path(addresses.__file__).resolve().parent / "addresses-example.csv"
HEADER = "her_id,name,kind,parent_her_id,organisation_number,hpr_number,municipality,accepts\n"
GOOD = (
    HEADER + "8100002,Nordkapp legesenter (fiktivt),organisation,,999100023,,Nordkapp,"
    "DIALOG_NOTAT;EPIKRISE;APPREC\n"
    + "8100021,Ingrid Lie,person,8100002,,9100021,Nordkapp,DIALOG_NOTAT\n"
    + '8100071,"Hudavdelingen, Testsykehuset",service,8100007,,,Tromsø,HENVISNING\n'
    + "8100007,Testsykehuset HF,organisation,,999200044,,Tromsø,APPREC\n"
)


def write(tmp_path: Path, text: str, name: str = "register.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_csv_file_is_imported_with_every_field(tmp_path: Path) -> None:
    result = addresses.import_file(write(tmp_path, GOOD))

    assert (result.created, result.updated, result.deactivated) == (4, 0, 0)
    department = AddressEntry.objects.get(her_id=8100071)
    assert department.name == "Hudavdelingen, Testsykehuset"
    assert department.kind == AddressEntry.Kind.SERVICE
    assert department.parent_her_id == 8100007
    assert department.accepts == ["HENVISNING"]
    assert department.source == "register.csv"
    gp = AddressEntry.objects.get(her_id=8100021)
    assert (gp.hpr_number, gp.municipality) == ("9100021", "Nordkapp")
    assert AddressEntry.objects.get(her_id=8100002).organisation_number == "999100023"


def test_a_json_file_takes_the_same_keys_and_accepts_as_a_list(tmp_path: Path) -> None:
    entries = [
        {"her_id": 8100007, "name": "Testsykehuset HF", "kind": "organisation"},
        {
            "her_id": "8100071",
            "name": "Hudavdelingen",
            "kind": "service",
            "parent_her_id": 8100007,
            "accepts": ["HENVISNING", "DIALOG_NOTAT"],
        },
    ]
    result = addresses.import_file(write(tmp_path, json.dumps(entries), "register.json"))

    assert result.created == 2
    assert AddressEntry.objects.get(her_id=8100071).accepts == ["HENVISNING", "DIALOG_NOTAT"]


def test_importing_again_updates_by_her_id(tmp_path: Path) -> None:
    addresses.import_file(write(tmp_path, GOOD))
    renamed = GOOD.replace("Testsykehuset HF,", "Testsykehuset Nord HF,")

    result = addresses.import_file(write(tmp_path, renamed))

    assert (result.created, result.updated) == (0, 4)
    assert AddressEntry.objects.count() == 4
    assert AddressEntry.objects.get(her_id=8100007).name == "Testsykehuset Nord HF"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("abc,Name,organisation,,,,,", "HER-id 'abc' is not a positive whole number"),
        ("0,Name,organisation,,,,,", "HER-id '0' is not a positive whole number"),
        ("-5,Name,organisation,,,,,", "HER-id '-5' is not a positive whole number"),
        ("8100090,,organisation,,,,,", "the name is empty"),
        ("8100090,Name,hospital,,,,,", "kind 'hospital' is not one of"),
        ("8100090,Name,organisation,,999100024,,,", "organisation number '999100024' is not valid"),
        ("8100090,Name,organisation,,12345,,,", "organisation number '12345' is not valid"),
        ("8100090,Name,person,8100002,,91A0021,,", "HPR number '91A0021' is not 1 to 9 digits"),
        ("8100090,Name,service,,,,,", "a service needs the parent HER-id"),
        ("8100090,Name,service,999999,,,,", "parent HER-id 999999 is neither in the file nor"),
        ("8100090,Name,service,x1,,,,", "parent HER-id 'x1' is not a positive whole number"),
        ("8100090,Name,service,8100090,,,,", "an entry cannot be its own parent"),
        ("8100002,Twice,organisation,,,,,", "HER-id 8100002 is also on line 2"),
        ("8100090,Name,organisation,,,,,dialog notat", "unknown message types in accepts"),
        ("8100090,Name,organisation,,,,,,extra", "more fields than the header has"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(
    tmp_path: Path, row: str, problem: str
) -> None:
    path = write(tmp_path, GOOD + row + "\n")

    with pytest.raises(addresses.InvalidAddressFile) as caught:
        addresses.import_file(path)

    assert [p.line for p in caught.value.problems] == [6]
    assert problem in caught.value.problems[0].text
    assert not AddressEntry.objects.exists()


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "abc,Name,organisation,,,,,\n"
        + "8100090,Name,organisation,,,,,\n"
        + "8100091,,clinic,,,,,\n",
    )

    with pytest.raises(addresses.InvalidAddressFile) as caught:
        addresses.import_file(path)

    assert [(p.line, p.text) for p in caught.value.problems] == [
        (2, "HER-id 'abc' is not a positive whole number"),
        (4, "the name is empty"),
        (4, "kind 'clinic' is not one of organisation, service, person"),
    ]


def test_a_bad_file_changes_nothing_already_in_the_register(tmp_path: Path) -> None:
    addresses.import_file(write(tmp_path, GOOD))
    bad = GOOD.replace("Testsykehuset HF,", "Renamed HF,") + "x,Bad,organisation,,,,,\n"

    with pytest.raises(addresses.InvalidAddressFile):
        addresses.import_file(write(tmp_path, bad), replace=True)

    assert AddressEntry.objects.get(her_id=8100007).name == "Testsykehuset HF"
    assert AddressEntry.objects.filter(active=True).count() == 4


def test_a_parent_already_in_the_register_is_enough(tmp_path: Path) -> None:
    addresses.import_file(write(tmp_path, GOOD))

    addresses.import_file(write(tmp_path, HEADER + "8100072,Poliklinikk,service,8100007,,,,\n"))

    assert AddressEntry.objects.get(her_id=8100072).parent_her_id == 8100007


def test_replace_deactivates_the_entries_the_file_no_longer_has(tmp_path: Path) -> None:
    addresses.import_file(write(tmp_path, GOOD))
    only_hospital = HEADER + "8100007,Testsykehuset HF,organisation,,999200044,,Tromsø,APPREC\n"

    result = addresses.import_file(write(tmp_path, only_hospital), replace=True)

    assert result.deactivated == 3
    assert list(AddressEntry.objects.filter(active=True).values_list("her_id", flat=True)) == [
        8100007
    ]
    assert addresses.find(8100002) is None
    # Kept, not deleted: messages already sent name their receiver.
    assert AddressEntry.objects.filter(her_id=8100002, active=False).exists()


def test_replace_needs_the_parents_in_the_file(tmp_path: Path) -> None:
    addresses.import_file(write(tmp_path, GOOD))

    with pytest.raises(addresses.InvalidAddressFile) as caught:
        addresses.import_file(
            write(tmp_path, HEADER + "8100072,Poliklinikk,service,8100007,,,,\n"), replace=True
        )

    assert "parent HER-id 8100007" in caught.value.problems[0].text


@pytest.mark.parametrize(
    ("text", "name", "problem"),
    [
        ("her_id,name\n1,A\n", "a.csv", (1, "the header lacks kind")),
        (HEADER.replace("accepts", "takes"), "a.csv", (1, "unknown columns: takes")),
        (HEADER, "a.csv", (0, "the file has no entries")),
        ("[{]", "a.json", (1, "not valid JSON: Expecting property name enclosed in double quotes")),
        ('{"her_id": 1}', "a.json", (1, "the file must hold a list of entries")),
        ('[{"her_id": 1, "colour": "red"}]', "a.json", (1, "unknown keys: colour")),
        ("[1]", "a.json", (1, "an entry must be an object")),
    ],
)
def test_a_malformed_file_is_refused(
    tmp_path: Path, text: str, name: str, problem: tuple[int, str]
) -> None:
    with pytest.raises(addresses.InvalidAddressFile) as caught:
        addresses.import_file(write(tmp_path, text, name))

    assert (caught.value.problems[0].line, caught.value.problems[0].text) == problem


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "8100090,Tromsø,organisation,,,,,\n").encode("latin-1"))

    with pytest.raises(addresses.InvalidAddressFile, match="not UTF-8"):
        addresses.import_file(path)


def test_the_shipped_example_imports_and_has_what_the_demo_needs() -> None:
    result = addresses.import_file(EXAMPLE)

    assert result.created >= 6
    ours = addresses.find(8100001)
    assert ours is not None and "Telederm" in ours.name
    offices = AddressEntry.objects.filter(
        kind="organisation", accepts__icontains="DIALOG_HELSEFAGLIG"
    )
    assert offices.exclude(her_id=8100001).count() >= 3
    receivers = addresses.referral_receivers("hud")
    assert [entry.kind for entry in receivers] == ["service"]
    assert addresses.find(receivers[0].parent_her_id) is not None


def test_the_command_reports_every_problem_and_imports_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "abc,A,organisation,,,,,\n8100090,,organisation,,,,,\n")

    with pytest.raises(CommandError, match="2 problem"):
        call_command("addresses", "import", str(path))

    assert not AddressEntry.objects.exists()


def test_the_command_imports_and_replaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    call_command("addresses", "import", str(write(tmp_path, GOOD)))
    call_command(
        "addresses",
        "import",
        str(write(tmp_path, HEADER + "8100007,Testsykehuset HF,organisation,,,,,\n")),
        "--replace",
    )

    out = capsys.readouterr().out
    assert "4 new, 0 updated, 0 deactivated" in out
    assert "0 new, 1 updated, 3 deactivated" in out


def test_gp_of_finds_the_patients_gp_office_in_the_register(
    tmp_path: Path, patient_user: User, gp_office: Organisation
) -> None:
    patient = patient_user.patient
    addresses.import_file(write(tmp_path, GOOD))
    assert addresses.gp_of(patient) is None  # no GP office on the record

    patient.gp_office = gp_office
    patient.save()
    found = addresses.gp_of(patient)

    assert found is not None and found.her_id == gp_office.her_id == 8100002


def test_gp_of_is_none_when_the_office_is_missing_or_inactive(
    tmp_path: Path, patient_user: User, gp_office: Organisation
) -> None:
    patient = patient_user.patient
    patient.gp_office = gp_office
    patient.save()
    assert addresses.gp_of(patient) is None  # not in the register

    addresses.import_file(write(tmp_path, GOOD))
    AddressEntry.objects.filter(her_id=8100002).update(active=False)

    assert addresses.gp_of(patient) is None


def test_a_receiver_label_carries_its_her_id() -> None:
    entry = AddressEntry(her_id=8100071, name="Hudavdelingen, Testsykehuset", kind="service")

    label = addresses.receiver_label(entry)

    assert label == "Hudavdelingen, Testsykehuset (HER-id 8100071)"
    assert addresses.her_id_in(label) == 8100071
    assert addresses.her_id_in("Hudavdelingen, UNN Tromsø") is None
