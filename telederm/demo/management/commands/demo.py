"""`telederm demo`: load synthetic demo data. Safe to run again: it never duplicates anything.

Every person here is invented; every national identity number is a synthetic test number
(month + 80) that belongs to nobody. Cases go through the same services as real ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from telederm.accounts.models import Organisation, User
from telederm.cases import access, messaging
from telederm.cases import services as case_services
from telederm.cases.models import Case
from telederm.core import clock
from telederm.demo import content
from telederm.interop import addresses, inbox, outbox
from telederm.interop.kith import apprec, henvisning, msghead
from telederm.interop.kith import errors as kith_errors
from telederm.interop.kith import model as kith
from telederm.interop.models import AddressEntry, IncomingMessage, OutgoingMessage
from telederm.patients.identifiers import IdentifierKind, make_synthetic_fodselsnummer
from telederm.patients.models import Patient
from telederm.photos import services as photo_services
from telederm.photos.models import Lesion
from telederm.review import services as review_services
from telederm.triage import intake
from telederm.triage import messages as triage_messages
from telederm.triage import services as triage_services
from telederm.triage import tasks as triage_tasks
from telederm.triage.models import ClinicianProfile

DEMO_PASSWORD = "Telederm-demo-2026"  # nosec B105  # the demo personas' published password

ORGANISATIONS = [
    # name, kind, HER-id, organisation number (synthetic, valid mod-11), municipality
    ("Telederm hudklinikk", Organisation.Kind.CLINIC, 8100001, "999100015", "Tromsø"),
    ("Nordkapp legesenter", Organisation.Kind.GP_OFFICE, 8100002, "999100023", "Nordkapp"),
    ("Fjordtun sykehjem", Organisation.Kind.NURSING_HOME, 8100003, "999100031", "Sortland"),
    ("Plattform Nordlys", Organisation.Kind.OFFSHORE, 8100004, "999100058", "Nordsjøen"),
]


# The synthetic address register (interop.addresses): the triggers' example file and the demo's
# own rows for the organisations it lacks. Their HER-ids must be there before reviews are signed.
ADDRESS_FILES = [
    Path(__file__).resolve().parents[3] / "interop" / "addresses-example.csv",
    Path(__file__).resolve().parents[2] / "addresses-demo.csv",
]
DEMO_HER_IDS = [her_id for _name, _kind, her_id, _orgnr, _municipality in ORGANISATIONS]
# Fixed message ids for what the demo receives, so that a rerun recognises them.
DEMO_NAMESPACE = uuid.UUID("6f1d3c52-9a0e-4d8b-8f3e-2b7c5e1a9d40")
# The demo GP who refers through Norsk Helsenett: Ingrid Lie at Nordkapp legesenter.
GP_OFFICE = kith.Organisation(
    name="Nordkapp legesenter", her_id=8100002, organisation_number="999100023"
)
GP = kith.Person(
    family_name="Lie", given_name="Ingrid", hpr_number="9100021", her_id=8100021, title="Fastlege"
)


@dataclass(frozen=True)
class Persona:
    email: str
    full_name: str
    role: str
    organisation_her_id: int | None = None
    title: str = ""
    hpr_number: str = ""
    language: str = "nb"
    mobile_number: str = ""  # synthetic: +47 4000 00xx is no one's number in the demo


# What automatic assignment knows about the clinic's clinicians (triage.ClinicianProfile).
CLINICIAN_PROFILES = {
    "vakt@telederm.example": (["nb", "en"], []),
    "hudlege@telederm.example": (["nb", "en"], ["dermoscopy", "skin_cancer"]),
    "hudlege2@telederm.example": (["nb", "en"], ["dermoscopy", "paediatric", "wounds"]),
}


PERSONAS = [
    Persona(
        "kari@pasient.example", "Kari Nordmann", User.Role.PATIENT, mobile_number="+4740000001"
    ),
    Persona("ola@pasient.example", "Ola Hansen", User.Role.PATIENT, language="en"),
    Persona(
        "lege@nordkapp.example", "Ingrid Lie", User.Role.SUBMITTER, 8100002, "Fastlege", "9100021"
    ),
    Persona(
        "sykepleier@fjordtun.example",
        "Per Olsen",
        User.Role.SUBMITTER,
        8100003,
        "Sykepleier",
        "9100032",
    ),
    Persona(
        "medic@nordlys.example",
        "Siri Dahl",
        User.Role.SUBMITTER,
        8100004,
        "Offshore medic",
        "9100043",
    ),
    Persona(
        "vakt@telederm.example",
        "Mona Berg",
        User.Role.DUTY_NURSE,
        8100001,
        "Sykepleier",
        "9100054",
        mobile_number="+4740000002",
    ),
    Persona(
        "hudlege@telederm.example",
        "Erik Strand",
        User.Role.DERMATOLOGIST,
        8100001,
        "Hudlege",
        "9100065",
        mobile_number="+4740000003",
    ),
    Persona(
        "hudlege2@telederm.example",
        "Anne Moe",
        User.Role.DERMATOLOGIST,
        8100001,
        "Hudlege",
        "9100076",
    ),
    Persona(
        "koordinator@telederm.example",
        "Lars Vik",
        User.Role.COORDINATOR,
        8100001,
        mobile_number="+4740000004",
    ),
    Persona("analytiker@telederm.example", "Nina Lund", User.Role.ANALYST, 8100001),
    Persona("personvern@telederm.example", "Hege Berg", User.Role.PRIVACY_OFFICER, 8100001),
    Persona(
        "kirurg@sykehus.example",
        "Tor Haug",
        User.Role.EXTERNAL,
        None,
        "Plastikkirurg",
        "9100087",
    ),
]

# Every role but patient signs in with a second factor. The demo gives them all this published
# authenticator key, so that anyone trying the demo can add it to an authenticator app once.
DEMO_TOTP_SECRET = "KRSWYZLEMVZG2LLEMVWW6LJSGAZDMIJB"  # nosec B105  # public demo key

PATIENT_NAMES = [
    "Kari Nordmann",
    "Ola Hansen",
    "Astrid Johansen",
    "Nils Pedersen",
    "Solveig Karlsen",
    "Bjørn Eriksen",
    "Ragnhild Berg",
    "Jon Haugen",
    "Liv Andersen",
    "Arne Nilsen",
    "Turid Larsen",
    "Halvor Jakobsen",
]

COMPLAINTS = [
    ("face", "Sår på nesen som ikke gror, blør litt innimellom.", "months", "growing"),
    ("back", "Føflekk på ryggen som har blitt mørkere og større.", "months", "changing"),
    ("hand", "Tørr, sprukken hud på hendene, klør mest om natten.", "weeks", "comes_and_goes"),
    ("leg", "Rødt, skjellende utslett på leggen.", "weeks", "growing"),
    ("scalp", "Flass og kløe i hodebunnen.", "years", "comes_and_goes"),
    ("chest", "Små røde prikker på brystet etter ny medisin.", "days", "growing"),
    ("foot", "Fortykket, gul negl på stortåen.", "years", "unchanged"),
    ("arm", "Ru, skorpete flekker på underarmen etter mye sol.", "months", "unchanged"),
    ("neck", "Kløende, runde flekker på halsen.", "weeks", "growing"),
    ("face", "Rødme og kviser på kinnene som kommer og går.", "years", "comes_and_goes"),
]

# Where each demo complaint sits on the body map: a SNOMED CT site (telederm.photos.sites) and side.
SITE_OF = {
    "face": ("36141000", "left"),
    "back": ("244111001", "right"),
    "hand": ("281642007", "right"),
    "leg": ("75144006", "left"),
    "scalp": ("43067004", "midline"),
    "chest": ("244106003", "midline"),
    "foot": ("52034004", "right"),
    "arm": ("5742000", "left"),
    "neck": ("11584001", "midline"),
}


@functools.cache
def _skin_noise(width: int, height: int) -> Image.Image:
    return Image.effect_noise((width, height), 14).convert("RGB")


def synthetic_photo(seed: int, *, close_up: bool = False, growth: float = 1.0) -> io.BytesIO:
    """A plausible-looking skin photo: a skin-toned field with one irregular lesion.

    An overview shows the lesion small in a wide field; a close-up shows it large. `growth` makes
    the same lesion bigger and darker, as in a later photo of a changing mole.
    """
    rng = random.Random(seed)  # nosec B311  # synthetic demo data
    width, height = 1600, 1200
    skin = (rng.randint(200, 235), rng.randint(160, 190), rng.randint(130, 160))
    # Skin texture: fine noise around the skin tone (pores, fine hairs), as a sharp photo shows.
    noise = _skin_noise(width, height)
    image = ImageChops.add(Image.new("RGB", (width, height), skin), noise, offset=-128)
    draw = ImageDraw.Draw(image)
    scale = (2.6 if close_up else 1.0) * growth
    cx, cy = width // 2 + rng.randint(-150, 150), height // 2 + rng.randint(-100, 100)
    darken = int(40 * (growth - 1))
    lesion = (
        max(0, rng.randint(90, 170) - darken),
        max(0, rng.randint(40, 90) - darken),
        max(0, rng.randint(30, 70) - darken),
    )
    for _ in range(14):
        rx, ry = int(rng.randint(20, 60) * scale), int(rng.randint(20, 50) * scale)
        ox, oy = int(rng.randint(-30, 30) * scale), int(rng.randint(-25, 25) * scale)
        draw.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=lesion)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    out.seek(0)
    return out


def synthetic_patient(name: str, birth_date: dt.date, individual: int = 300) -> kith.Patient:
    """A patient for a message, with a synthetic fødselsnummer (month + 80) that is nobody's."""
    while True:
        try:
            number = make_synthetic_fodselsnummer(birth_date, individual)
            break
        except ValueError:
            individual += 1
    given, _sep, family = name.rpartition(" ")
    return kith.Patient(
        family_name=family, given_name=given, identifier=number, birth_date=birth_date
    )


def example_referral(
    *,
    msg_id: str,
    patient_name: str,
    birth_date: dt.date,
    details: dict[str, Any],
    seed: int,
    individual: int = 300,
) -> bytes:
    """A schema-valid Henvisning 2.0 from the demo GP to this clinic, with two synthetic photos
    (an overview and a close-up), as a communication server would drop it into our inbox."""
    at = clock.now()
    clinic = kith.Organisation(
        name=settings.TELEDERM_ORGANISATION_NAME,
        her_id=int(settings.TELEDERM_HER_ID),
        organisation_number=settings.TELEDERM_ORGANISATION_NUMBER,
    )
    head = kith.Head(
        msg_id=msg_id,
        msg_type=henvisning.MSG_TYPE,
        generated_at=at,
        sender=kith.Party(organisation=GP_OFFICE, person=GP),
        receiver=kith.Party(organisation=clinic),
        patient=synthetic_patient(patient_name, birth_date, individual),
    )
    referral = kith.Referral(
        reason=details["reason"],
        clinical_information=details["clinical_information"],
        referrer=GP,
        priority=details["priority"],
        cancer_pathway=details["cancer_pathway"],
        requested_service=details["requested_service"],
        document_id=msg_id,
        referred_at=at,
    )
    photos = tuple(
        kith.Attachment(
            filename=f"{name}.jpg",
            mime_type="image/jpeg",
            data=synthetic_photo(seed + shot, close_up=shot == 1).getvalue(),
            description=text,
        )
        for shot, (name, text) in enumerate([("oversikt", "Oversiktsbilde"), ("naer", "Nærbilde")])
    )
    return henvisning.build(head, referral, photos)


class Command(BaseCommand):
    help = "Load synthetic demo data: organisations, the personas and about twenty cases."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.TELEDERM_ACCEPT_SYNTHETIC_IDS:
            raise CommandError(
                "The demo loads synthetic patients and published passwords; it refuses to run "
                "where TELEDERM_ACCEPT_SYNTHETIC_IDS is off (production)."
            )
        with transaction.atomic():
            organisations = self._organisations()
            users = self._users(organisations)
            # Before any review is signed: the signature's messages find their receivers here.
            self._address_register()
        if Case.objects.filter(created_by__email__in=[p.email for p in PERSONAS]).exists():
            self.stdout.write("Demo cases already present; users and organisations refreshed.")
        else:
            count = self._cases(users)
            self._messages(users)
            self.stdout.write(f"Created {count + 1} demo cases.")
        self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD}):")
        for persona in PERSONAS:
            self.stdout.write(f"  {persona.email:32} {persona.role}")
        self.stdout.write(
            f"  {'admin@telederm.example':32} operator (/admin/, /operator/messages/)"
        )
        self.stdout.write(
            "Everyone but patients also gives a code from an authenticator app set up with the "
            f"demo key {DEMO_TOTP_SECRET} (otpauth://totp/Telederm:demo?secret={DEMO_TOTP_SECRET}"
            "&issuer=Telederm)."
        )
        self._describe_messages()

    def _address_register(self) -> None:
        """Import the synthetic address register once (HER-ids of the demo's organisations)."""
        if AddressEntry.objects.filter(her_id__in=DEMO_HER_IDS).count() == len(DEMO_HER_IDS):
            return  # Imported already: a rerun changes nothing.
        for path in ADDRESS_FILES:
            addresses.import_file(path)

    def _messages(self, users: dict[str, User]) -> None:
        """A GP's referral through the inbox, the outbox delivered, and two AppRecs back."""
        referral_id = str(uuid.uuid5(DEMO_NAMESPACE, "gp-referral"))
        if IncomingMessage.objects.filter(msg_id=referral_id).exists():
            return
        now = clock.now()
        data = content.GP_REFERRAL
        with clock.frozen_at(now - dt.timedelta(hours=3)):
            payload = example_referral(
                msg_id=referral_id,
                patient_name=data["patient_name"],
                birth_date=dt.date.fromisoformat(data["birth_date"]),
                details=data,
                seed=900,
            )
            received = inbox.receive(payload, transport="file", ref=f"{referral_id}.xml")
        case = received.case
        if case is None:
            raise CommandError(f"The demo's GP referral was not accepted: {received.errors}")
        for photo in case.photos.all():
            if photo.is_pending:
                photo_services.process_photo(photo_uuid=photo.uuid)
        # The duty nurse sees the cancer-pathway referral and sends it by name to Erik.
        nurse, erik = users["vakt@telederm.example"], users["hudlege@telederm.example"]
        with clock.frozen_at(now - dt.timedelta(hours=2, minutes=30)):
            case = triage_services.claim_case(by=nurse, case=case, expected_version=case.version)
        with clock.frozen_at(now - dt.timedelta(hours=2, minutes=20)):
            case = triage_services.forward_case(
                by=nurse, case=case, expected_version=case.version, to=erik
            )
        # The worker's delivery: the answers' Dialogmeldinger, the Henvisning and the AppRec to
        # the GP become files in TELEDERM_MESSAGE_FILE_OUT.
        outbox.deliver_due()
        self._receipts(now)

    def _receipts(self, now: dt.datetime) -> None:
        """The GP office acknowledges Kari's answer and rejects Ola's (he is not listed there)."""
        answers = OutgoingMessage.objects.filter(
            kind=OutgoingMessage.Kind.DIALOGMELDING, status=OutgoingMessage.Status.SENT
        )
        kari = answers.filter(case__patient__user__email="kari@pasient.example").first()
        ola = answers.filter(case__patient__user__email="ola@pasient.example").first()
        code, details = content.APPREC_REJECTION
        for number, (message, status, problems) in enumerate(
            [
                (kari, kith.AppRecStatus.OK, ()),
                (ola, kith.AppRecStatus.REJECTED, (kith_errors.problem(code, details),)),
            ]
        ):
            if message is None:
                continue
            with clock.frozen_at(now - dt.timedelta(hours=1, minutes=50 - number)):
                envelope = msghead.read(bytes(message.payload))
                receipt = apprec.for_message(
                    envelope,
                    status=status,
                    errors=problems,
                    msg_id=str(uuid.uuid5(DEMO_NAMESPACE, f"apprec-{message.msg_id}")),
                    at=clock.now(),
                )
                inbox.receive(apprec.build(receipt), transport="file", ref=f"apprec-{number}.xml")

    def _describe_messages(self) -> None:
        counts = outbox.status_counts()
        if not any(counts.values()):
            return
        summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
        self.stdout.write(
            f"Messages to GPs and hospitals: {summary}; delivered as files in "
            f"{settings.TELEDERM_MESSAGE_FILE_OUT} (`telederm messages list`; the operator sees "
            "them at /operator/messages/)."
        )
        self.stdout.write(
            "A GP's referral through Norsk Helsenett: `telederm messages example-referral "
            "--to-inbox`, then `telederm messages receive` (docs/interop.md)."
        )
        self.stdout.write(
            "The FHIR API at /fhir/ takes a bearer token: `telederm token create --user "
            "hudlege@telederm.example --scope 'user/*.read' --label demo` (docs/runbooks/"
            "api-tokens.md)."
        )

    def _organisations(self) -> dict[int, Organisation]:
        result = {}
        for name, kind, her_id, orgnr, municipality in ORGANISATIONS:
            organisation, _ = Organisation.objects.update_or_create(
                her_id=her_id,
                defaults={
                    "name": name,
                    "kind": kind,
                    "organisation_number": orgnr,
                    "municipality": municipality,
                },
            )
            result[her_id] = organisation
        return result

    def _users(self, organisations: dict[int, Organisation]) -> dict[str, User]:
        users = {}
        for persona in PERSONAS:
            user, _ = User.objects.update_or_create(
                email=persona.email,
                defaults={
                    "full_name": persona.full_name,
                    "role": persona.role,
                    "organisation": organisations.get(persona.organisation_her_id or 0),
                    "title": persona.title,
                    "hpr_number": persona.hpr_number,
                    "preferred_language": persona.language,
                    "mobile_number": persona.mobile_number,
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            if user.needs_second_factor:
                Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
                TOTP.activate(user, DEMO_TOTP_SECRET)
            users[persona.email] = user
            if persona.email in CLINICIAN_PROFILES:
                languages, competences = CLINICIAN_PROFILES[persona.email]
                ClinicianProfile.objects.update_or_create(
                    user=user,
                    defaults={
                        "languages": languages,
                        "competences": competences,
                        "available": True,
                    },
                )
        admin, _ = User.objects.get_or_create(
            email="admin@telederm.example",
            defaults={
                "full_name": "Drift Admin",
                "role": User.Role.OPERATOR,
                "is_staff": True,
                "is_superuser": True,
            },
        )
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
        Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).delete()
        TOTP.activate(admin, DEMO_TOTP_SECRET)
        return users

    def _patients(self, users: dict[str, User], gp_office: Organisation) -> list[Patient]:
        rng = random.Random(2026)  # nosec B311  # synthetic demo data
        patients = []
        for index, name in enumerate(PATIENT_NAMES):
            birth = dt.date(1935 + rng.randrange(60), rng.randint(1, 12), rng.randint(1, 28))
            individual = 100 + index * 7
            while True:
                try:
                    number = make_synthetic_fodselsnummer(birth, individual)
                    break
                except ValueError:
                    individual += 1
            account = next(
                (u for u in users.values() if u.full_name == name and u.is_patient), None
            )
            patient, _ = Patient.objects.update_or_create(
                identifier=number,
                defaults={
                    "identifier_kind": IdentifierKind.FODSELSNUMMER.value,
                    "full_name": name,
                    "birth_date": birth,
                    "user": account,
                    "gp_office": gp_office,
                    "preferred_language": account.preferred_language if account else "nb",
                },
            )
            patients.append(patient)
        return patients

    def _cases(self, users: dict[str, User]) -> int:
        gp_office = Organisation.objects.get(her_id=8100002)
        patients = self._patients(users, gp_office)
        cast = Cast(
            senders=[
                users["lege@nordkapp.example"],
                users["sykepleier@fjordtun.example"],
                users["medic@nordlys.example"],
            ],
            nurse=users["vakt@telederm.example"],
            erik=users["hudlege@telederm.example"],
            anne=users["hudlege2@telederm.example"],
        )
        now = clock.now()
        first_lesion: Lesion | None = None
        for number, step in enumerate(PLAN):
            patient = patients[step.patient]
            sender = patient.user if patient.user else cast.senders[number % len(cast.senders)]
            started = now - dt.timedelta(hours=step.hours_ago)
            case, lesion = self._start(
                number, step, sender, patient, started, first_lesion=first_lesion
            )
            if number == 0:
                first_lesion = lesion
            if step.scenario == "draft":
                continue
            if step.scenario == "withdrawn":
                with clock.frozen_at(started + dt.timedelta(minutes=30)):
                    case_services.withdraw_case(by=sender, case=case, expected_version=case.version)
                continue
            with clock.frozen_at(started + dt.timedelta(minutes=10)):
                case = case_services.submit_case(
                    by=sender, case=case, expected_version=case.version
                )
            Scenario(cast=cast, case=case, sender=sender, started=started, now=now).play(step)
        # The clock check the worker runs every few minutes: the overdue case breaches and the
        # case nobody has claimed raises its alarm (the emergency alarmed when it was escalated).
        triage_tasks.check_clocks.call()
        return len(PLAN)

    def _start(
        self,
        number: int,
        step: Step,
        sender: User,
        patient: Patient,
        started: dt.datetime,
        *,
        first_lesion: Lesion | None,
    ) -> tuple[Case, Lesion]:
        """Start the case (from a symptom check for Kari's changing mole) and add its photos."""
        site, complaint, onset, change = COMPLAINTS[step.complaint]
        answers = {
            "complaint": complaint,
            "body_site": site,
            "onset": onset,
            "change": change,
            "itch": ["none", "mild", "moderate"][number % 3],
            "pain": ["none", "mild"][number % 2],
            "treatments_tried": "Fuktighetskrem" if number % 2 else "",
            "patient_consents": patient.user is None,
        }
        same_mole = step.scenario == "check_pk" and first_lesion is not None
        with clock.frozen_at(started):
            if step.scenario == "check_pk":
                outcome = intake.record_check(by=sender, data=content.KARI_MOLE_CHECK)
                case = intake.start_case_from_check(by=sender, check=outcome.check, answers=answers)
            else:
                case = case_services.start_case(by=sender, patient=patient, answers=answers)
            if same_mole:
                assert first_lesion is not None
                lesion = first_lesion  # the same mole, photographed again
            else:
                code, side = SITE_OF[site]
                lesion = photo_services.add_lesion(
                    by=sender, case=case, body_site=code, laterality=side
                )
            for shot, kind in enumerate(("overview", "close_up")):
                photo_services.add_photo(
                    by=sender,
                    case=case,
                    upload=synthetic_photo(
                        (0 if same_mole else number) * 10 + shot,
                        close_up=kind == "close_up",
                        growth=1.3 if same_mole else 1.0,
                    ),
                    kind=kind,
                    lesion=lesion,
                    process_now=True,
                )
        case.refresh_from_db()
        return case, lesion


@dataclass(frozen=True)
class Step:
    """One demo case: whose, which complaint, what has happened to it, and when it began."""

    patient: int  # index in PATIENT_NAMES
    complaint: int  # index in COMPLAINTS
    scenario: str
    hours_ago: float
    review: str = ""  # key in content.REVIEWS for a signed review
    dermatologist: str = ""  # "erik" or "anne"


PLAN = [
    # Kari's mole: answered with advice to send new photos; an outside surgeon was asked for an
    # opinion; Kari and Erik have written to each other since.
    Step(0, 1, "signed", 300, "kari_mole", "erik"),
    # The same mole three months on: Kari's symptom check scores it 4 (PK pathway); new photos.
    Step(0, 1, "check_pk", 6),
    Step(0, 5, "draft", 1),
    Step(1, 4, "signed", 500, "ola_scalp", "anne"),
    Step(1, 3, "info_answered", 5),
    Step(2, 1, "signed", 80, "referral_pk", "anne"),
    Step(3, 7, "signed", 200, "actinic_keratosis", "erik"),
    Step(4, 8, "unowned", 3),
    Step(5, 0, "draft_review", 20, dermatologist="erik"),
    Step(6, 9, "self_care", 100),
    Step(7, 6, "signed", 400, "nail_fungus", "erik"),
    Step(8, 3, "pool", 10),
    Step(9, 2, "in_review", 40, dermatologist="anne"),
    Step(10, 5, "escalated", 3),
    Step(11, 4, "signed", 250, "video", "anne"),
    Step(2, 8, "withdrawn", 150),
    Step(3, 9, "draft", 2),
    Step(4, 1, "overdue", 240),
    Step(5, 2, "signed", 350, "hand_eczema", "erik"),
    Step(6, 7, "draft", 4),
]


@dataclass(frozen=True)
class Cast:
    senders: list[User]
    nurse: User
    erik: User
    anne: User


@dataclass
class Scenario:
    """Play what happened to a sent case, step by step at its own past times."""

    cast: Cast
    case: Case
    sender: User
    started: dt.datetime
    now: dt.datetime

    def at(self, hours: float) -> contextlib.AbstractContextManager[None]:
        return clock.frozen_at(self.started + dt.timedelta(hours=hours))

    def play(self, step: Step) -> None:
        getattr(self, f"_{step.scenario}")(step)

    def _claim(self, hours: float = 0.5) -> None:
        with self.at(hours):
            self.case = triage_services.claim_case(
                by=self.cast.nurse, case=self.case, expected_version=self.case.version
            )

    def _note(self, key: str, hours: float) -> None:
        with self.at(hours):
            triage_services.add_triage_note(
                by=self.cast.nurse, case=self.case, text=content.TRIAGE_NOTES[key]
            )
        self.case.refresh_from_db()

    def _forward(self, hours: float, to: User | None = None) -> None:
        with self.at(hours):
            self.case = triage_services.forward_case(
                by=self.cast.nurse, case=self.case, expected_version=self.case.version, to=to
            )

    def _priority(self, priority: str, hours: float) -> None:
        with self.at(hours):
            self.case = triage_services.set_priority(
                by=self.cast.nurse,
                case=self.case,
                expected_version=self.case.version,
                priority=priority,
                pathway=self.case.pathway,
            )

    def _take(self, dermatologist: User, hours: float) -> None:
        with self.at(hours):
            self.case = review_services.take_for_review(
                by=dermatologist, case=self.case, expected_version=self.case.version
            )

    def _dermatologist(self, step: Step) -> User:
        return self.cast.erik if step.dermatologist == "erik" else self.cast.anne

    # The scenarios, by name in PLAN.

    def _unowned(self, step: Step) -> None:
        """Sent and not yet claimed by anyone: the clock check raises the 'unowned' alarm."""

    def _escalated(self, step: Step) -> None:
        """The nursing home nurse checks the resident's drug rash again: blisters and mouth sores.
        The check escalates the case at once, with the emergency alarm to the duty nurse."""
        with clock.frozen_at(self.now - dt.timedelta(minutes=8)):
            intake.record_check(
                by=self.sender, data=content.EMERGENCY_CHECK, case_uuid=self.case.uuid
            )

    def _check_pk(self, step: Step) -> None:
        """Claimed, noted, and forwarded by name to Erik, who saw the mole the first time."""
        self._claim(0.6)
        self._note("kari_pk", 0.7)
        self._forward(0.8, to=self.cast.erik)

    def _pool(self, step: Step) -> None:
        self._claim(0.5)
        self._priority(Case.Priority.SOON, 0.55)
        self._note("pool", 0.6)
        self._forward(0.7)

    def _overdue(self, step: Step) -> None:
        """Forwarded to the pool as 'soon' and left there past its due time: a breach."""
        self._claim(1)
        self._priority(Case.Priority.SOON, 1.1)
        self._note("overdue", 1.2)
        self._forward(1.3)

    def _info_answered(self, step: Step) -> None:
        """The nurse asks Ola (in English) for better photos; Ola has answered with a message."""
        self._claim(0.5)
        with self.at(0.6):
            triage_services.request_information(
                by=self.cast.nurse,
                case=self.case,
                expected_version=self.case.version,
                text=triage_messages.render_request(
                    ["photo-blurred", "photo-close-up"],
                    triage_services.reader_language(self.case),
                ),
            )
        self.case.refresh_from_db()
        with self.at(4):
            messaging.send_message(by=self.sender, case=self.case, body=content.OLA_REPLY)

    def _self_care(self, step: Step) -> None:
        self._claim(0.5)
        with self.at(0.7):
            triage_services.advise_self_care(
                by=self.cast.nurse,
                case=self.case,
                expected_version=self.case.version,
                text=content.SELF_CARE_ADVICE,
                guides=["acne"],
            )

    def _in_review(self, step: Step) -> None:
        self._claim(0.5)
        self._forward(0.6)
        self._take(self._dermatologist(step), min(step.hours_ago - 1, 20))

    def _draft_review(self, step: Step) -> None:
        """Erik has started his answer: coded diagnoses and a referral, no advice yet."""
        self._in_review(step)
        with self.at(step.hours_ago - 1):
            review_services.save_draft(
                by=self.cast.erik,
                case=self.case,
                expected_version=self.case.version,
                **content.ERIK_DRAFT,
            )

    def _signed(self, step: Step) -> None:
        dermatologist = self._dermatologist(step)
        self._in_review(step)
        if step.review == "kari_mole":
            # An outside plastic surgeon was asked for an opinion on Kari's first case.
            with self.at(20.5):
                access.grant_access(
                    by=dermatologist,
                    case=self.case,
                    hpr_number="9100087",
                    email="kirurg@sykehus.example",
                    full_name="Tor Haug",
                    purpose=content.GRANT_PURPOSE,
                    days=30,
                )
            self.case.refresh_from_db()
        with self.at(26):
            review_services.sign_review(
                by=dermatologist,
                case=self.case,
                expected_version=self.case.version,
                **content.REVIEWS[step.review],
            )
        self.case.refresh_from_db()
        if step.review == "kari_mole":
            with self.at(50):
                messaging.send_message(by=self.sender, case=self.case, body=content.KARI_QUESTION)
            with self.at(52):
                messaging.open_thread(by=dermatologist, case=self.case)
                messaging.send_message(by=dermatologist, case=self.case, body=content.ERIK_REPLY)
