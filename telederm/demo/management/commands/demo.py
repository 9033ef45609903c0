"""`telederm demo`: load synthetic demo data. Safe to run again: it never duplicates anything.

Every person here is invented; every national identity number is a synthetic test number
(month + 80) that belongs to nobody. Cases go through the same services as real ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from telederm.accounts.models import Organisation, User
from telederm.cases import access
from telederm.cases import services as case_services
from telederm.cases.models import Case
from telederm.core import clock
from telederm.patients.identifiers import IdentifierKind, make_synthetic_fodselsnummer
from telederm.patients.models import Patient
from telederm.photos import services as photo_services
from telederm.review import services as review_services

DEMO_PASSWORD = "Telederm-demo-2026"  # nosec B105  # the demo personas' published password

ORGANISATIONS = [
    # name, kind, HER-id, organisation number (synthetic, valid mod-11), municipality
    ("Telederm hudklinikk", Organisation.Kind.CLINIC, 8100001, "999100015", "Tromsø"),
    ("Nordkapp legesenter", Organisation.Kind.GP_OFFICE, 8100002, "999100023", "Nordkapp"),
    ("Fjordtun sykehjem", Organisation.Kind.NURSING_HOME, 8100003, "999100031", "Sortland"),
    ("Plattform Nordlys", Organisation.Kind.OFFSHORE, 8100004, "999100058", "Nordsjøen"),
]


@dataclass(frozen=True)
class Persona:
    email: str
    full_name: str
    role: str
    organisation_her_id: int | None = None
    title: str = ""
    hpr_number: str = ""
    language: str = "nb"


PERSONAS = [
    Persona("kari@pasient.example", "Kari Nordmann", User.Role.PATIENT),
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
        "vakt@telederm.example", "Mona Berg", User.Role.DUTY_NURSE, 8100001, "Sykepleier", "9100054"
    ),
    Persona(
        "hudlege@telederm.example",
        "Erik Strand",
        User.Role.DERMATOLOGIST,
        8100001,
        "Hudlege",
        "9100065",
    ),
    Persona(
        "hudlege2@telederm.example",
        "Anne Moe",
        User.Role.DERMATOLOGIST,
        8100001,
        "Hudlege",
        "9100076",
    ),
    Persona("koordinator@telederm.example", "Lars Vik", User.Role.COORDINATOR, 8100001),
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

ADVICE = [
    (
        "Eksem (kontakteksem) på hendene.",
        "Bilder og beskrivelse passer med håndeksem. Ingen tegn til infeksjon.",
        "Dette ser ut som håndeksem. Bruk fet, parfymefri fuktighetskrem mange ganger daglig, "
        "og hansker ved vått arbeid. Smør et middels sterkt kortisonkrem om kvelden i to uker. "
        "Ta kontakt igjen hvis det ikke er bedre om fire uker.",
    ),
    (
        "Seborrøisk eksem i hodebunnen.",
        "Typisk seborrøisk dermatitt. Ingen mistanke om psoriasis.",
        "Dette er en vanlig og ufarlig tilstand. Vask håret med en sjampo mot flass "
        "(ketokonazol) to ganger i uken. Det kommer ofte tilbake, og da kan du gjenta behandlingen.",
    ),
    (
        "Aktinisk keratose.",
        "Flere aktiniske keratoser på solutsatt hud. Lav risiko. Anbefaler behandling hos fastlege.",
        "Flekkene er solskader i huden. De er ikke kreft, men bør behandles. Fastlegen din kan "
        "fryse dem bort. Bruk solkrem med høy faktor og dekk til huden i sterk sol.",
    ),
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

MOLE_ADVICE = (
    "Atypisk nevus, ingen sikre tegn på melanom nå.",
    "Asymmetrisk pigmentert lesjon, 6 mm, uten regresjon. Anbefaler ny kontroll med bilder "
    "om tre måneder.",
    "Føflekken ser ikke farlig ut nå, men den bør følges. Ta nye bilder av den om tre måneder "
    "og send dem hit, eller før hvis den endrer farge, blør eller vokser.",
)


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
        if Case.objects.filter(created_by__email__in=[p.email for p in PERSONAS]).exists():
            self.stdout.write("Demo cases already present; users and organisations refreshed.")
        else:
            count = self._cases(users)
            self.stdout.write(f"Created {count} demo cases.")
        self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD}):")
        for persona in PERSONAS:
            self.stdout.write(f"  {persona.email:32} {persona.role}")
        self.stdout.write(
            "Everyone but patients also gives a code from an authenticator app set up with the "
            f"demo key {DEMO_TOTP_SECRET} (otpauth://totp/Telederm:demo?secret={DEMO_TOTP_SECRET}"
            "&issuer=Telederm)."
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
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            if user.needs_second_factor:
                Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
                TOTP.activate(user, DEMO_TOTP_SECRET)
            users[persona.email] = user
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
        senders = [
            users["lege@nordkapp.example"],
            users["sykepleier@fjordtun.example"],
            users["medic@nordlys.example"],
        ]
        dermatologists = [users["hudlege@telederm.example"], users["hudlege2@telederm.example"]]
        # (patient index, complaint index, final state, hours ago it was started)
        plan = [
            # Kari's mole: answered with advice to send new photos, and the new photos sent
            # (the same lesion, photographed again, for the dermatologist to compare).
            (0, 1, "answered", 300),
            (0, 1, "submitted", 30),
            (0, 5, "draft", 1),
            (1, 4, "answered", 500),
            (1, 3, "submitted", 5),
            (2, 1, "submitted", 80),
            (3, 7, "answered", 200),
            (4, 8, "submitted", 50),
            (5, 0, "in_review", 20),
            (6, 9, "submitted", 360),
            (7, 6, "answered", 400),
            (8, 3, "submitted", 10),
            (9, 2, "in_review", 40),
            (10, 5, "submitted", 3),
            (11, 4, "answered", 250),
            (2, 8, "withdrawn", 150),
            (3, 9, "draft", 2),
            (4, 1, "submitted", 70),
            (5, 6, "answered", 350),
            (6, 7, "draft", 4),
        ]
        now = clock.now()
        first_lesion = None
        for number, (p_index, c_index, state, hours_ago) in enumerate(plan):
            patient = patients[p_index]
            sender = patient.user if patient.user else senders[number % len(senders)]
            site, complaint, onset, change = COMPLAINTS[c_index]
            started = now - dt.timedelta(hours=hours_ago)
            with clock.frozen_at(started):
                case = case_services.start_case(
                    by=sender,
                    patient=patient,
                    answers={
                        "complaint": complaint,
                        "body_site": site,
                        "onset": onset,
                        "change": change,
                        "itch": ["none", "mild", "moderate"][number % 3],
                        "pain": ["none", "mild"][number % 2],
                        "treatments_tried": "Fuktighetskrem" if number % 2 else "",
                        "patient_consents": patient.user is None,
                    },
                )
                if number == 1 and first_lesion is not None:
                    lesion = first_lesion  # the same mole, photographed again
                else:
                    code, side = SITE_OF[site]
                    lesion = photo_services.add_lesion(
                        by=sender, case=case, body_site=code, laterality=side
                    )
                if number == 0:
                    first_lesion = lesion
                for shot, kind in enumerate(("overview", "close_up")):
                    photo_services.add_photo(
                        by=sender,
                        case=case,
                        upload=synthetic_photo(
                            (0 if number == 1 else number) * 10 + shot,
                            close_up=kind == "close_up",
                            growth=1.3 if number == 1 else 1.0,
                        ),
                        kind=kind,
                        lesion=lesion,
                        process_now=True,
                    )
                case.refresh_from_db()
            if state == "draft":
                continue
            case.refresh_from_db()
            if state == "withdrawn":
                with clock.frozen_at(started + dt.timedelta(minutes=30)):
                    case_services.withdraw_case(by=sender, case=case, expected_version=case.version)
                continue
            with clock.frozen_at(started + dt.timedelta(minutes=10)):
                case = case_services.submit_case(
                    by=sender, case=case, expected_version=case.version
                )
            if state == "submitted":
                continue
            dermatologist = dermatologists[number % 2]
            with clock.frozen_at(started + dt.timedelta(hours=min(hours_ago - 1, 20))):
                case = review_services.take_for_review(
                    by=dermatologist, case=case, expected_version=case.version
                )
            if state == "in_review":
                continue
            if number == 0:
                # An outside plastic surgeon was asked for an opinion on Kari's first case.
                with clock.frozen_at(
                    started + dt.timedelta(hours=min(hours_ago - 1, 20), minutes=30)
                ):
                    access.grant_access(
                        by=dermatologist,
                        case=case,
                        hpr_number="9100087",
                        email="kirurg@sykehus.example",
                        full_name="Tor Haug",
                        purpose="Vurdering før eksisjon",
                        days=30,
                    )
            diagnosis, assessment, advice = (
                MOLE_ADVICE if c_index == 1 else ADVICE[number % len(ADVICE)]
            )
            with clock.frozen_at(started + dt.timedelta(hours=min(hours_ago - 1, 26))):
                review_services.answer_case(
                    by=dermatologist,
                    case=case,
                    expected_version=case.version,
                    assessment=assessment,
                    diagnosis=diagnosis,
                    advice=advice,
                )
        return len(plan)
