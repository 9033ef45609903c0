"""What the demo's clinicians and patients write: reviews, triage notes, messages, symptom checks.

Invented clinical content, in the reader's language (Ola reads English, everyone else bokmål).
Data only: the `demo` command puts it through the real services.
"""

from __future__ import annotations

from typing import Any

from telederm.review.services import DiagnosisChoice, PrescriptionLine, ReferralDetails

ANSWERS_FORMAT = "telederm-triage-answers/1"

NO_RED_FLAGS = {
    "rf_spreading_rash_fever": False,
    "rf_blisters_mucosa": False,
    "rf_face_swelling_breathing": False,
    "rf_non_blanching_unwell": False,
    "rf_cellulitis_fever": False,
    "rf_eczema_painful_blisters": False,
    "rf_shingles_eye": False,
}

# Kari checks her mole again: it has grown and darkened unevenly (7-point score 4: PK pathway).
KARI_MOLE_CHECK: dict[str, Any] = {
    "format": ANSWERS_FORMAT,
    "age_years": 52,
    "answers": {
        **NO_RED_FLAGS,
        "problem": "mole",
        "body_site": "back",
        "duration": "months",
        "change": "changing",
        "mole_changed_size": True,
        "mole_irregular_shape": False,
        "mole_irregular_colour": True,
        "mole_diameter_7mm": False,
        "mole_inflamed": False,
        "mole_oozing": False,
        "mole_sensation": False,
        "bleeds": False,
        "impact": "mild",
        "treatment_tried": "none",
    },
}

# The nursing home nurse checks a resident's drug rash again: blisters and sores in the mouth.
EMERGENCY_CHECK: dict[str, Any] = {
    "format": ANSWERS_FORMAT,
    "age_years": 81,
    "answers": {"rf_blisters_mucosa": True},
}

TRIAGE_NOTES = {
    "kari_pk": (
        "Ny symptomsjekk: 7-punktsskår 4 (vokst, ujevn farge). Samme føflekk som forrige sak, "
        "nye bilder viser tydelig mørkere og større lesjon. PK-forløp beholdt. Sendt til Erik, "
        "som så den forrige gang."
    ),
    "pool": (
        "Godt avgrensede, skjellende plakk på leggen, mistenker psoriasis. Gode bilder. "
        "Prioritet satt til snart på grunn av kløe og søvnvansker."
    ),
    "overdue": (
        "Pigmentert lesjon på ryggen, pasienten beskriver fargeendring. Bildene er skarpe. "
        "Satt til snart."
    ),
}

OLA_REPLY = (
    "Thank you. I have taken new photos in daylight by the window, closer up, and added them. "
    "The rash has spread a little further down the leg since last week."
)

SELF_CARE_ADVICE = (
    "Hei,\n\n"
    "En sykepleier har sett på saken din. Kvisene på kinnene ser ut som vanlig, mild akne, og du "
    "kan behandle dem selv. Vask ansiktet morgen og kveld med en mild såpefri vask, og bruk en "
    "krem med benzoylperoksid eller adapalen fra apoteket. Det tar 6 til 8 uker før du ser "
    "full effekt. Les veiledningen om akne som ligger under.\n\n"
    "Blir det ikke bedre på tre måneder, eller får du dype, vonde kuler, ta kontakt med "
    "fastlegen din. Ved akutt sykdom, ring 113."
)

KARI_QUESTION = (
    "Takk for svaret! Kan jeg bruke solkrem rett på føflekken, og hvor ofte skal jeg ta bilder "
    "av den?"
)
ERIK_REPLY = (
    "Ja, bruk solkrem med høy faktor på hele ryggen, også over føflekken. Ta nye bilder om tre "
    "måneder, med en linjal ved siden av, eller før hvis den endrer seg. Send dem som en ny sak."
)

GRANT_PURPOSE = "Vurdering før eksisjon"


# Anne's referral on the cancer pathway goes to a department in the address register: picked in
# the review form as "name (HER-id N)" (interop.addresses.receiver_label), so it also leaves as a
# Henvisning 2.0 through the message outbox.
REFERRAL_RECEIVER = "Hudavdelingen, Testsykehuset Nord (fiktivt) (HER-id 8100071)"


def review(**fields: Any) -> dict[str, Any]:
    return fields


REVIEWS: dict[str, dict[str, Any]] = {
    # Kari's mole, the first time: an atypical naevus to follow up.
    "kari_mole": review(
        outcome="advice",
        diagnosis="Atypisk føflekk (nevus), ingen sikre tegn på melanom nå",
        assessment=(
            "Asymmetrisk pigmentert lesjon, ca. 6 mm, uten regresjon eller blå-hvitt slør. "
            "Forenlig med atypisk nevus. Anbefaler ny kontroll med bilder om tre måneder."
        ),
        advice=(
            "Føflekken ser ikke farlig ut nå, men den bør følges med. Ta nye bilder av den om "
            "tre måneder og send dem hit."
        ),
        safety_net="Ta kontakt før hvis den endrer farge, blør, klør eller vokser.",
        advice_gp="Atypisk nevus på ryggen. Fotokontroll om tre måneder via Telederm.",
        guides=["mole-self-check", "sun-protection"],
        diagnoses=[DiagnosisChoice("icd10", "D22.5", True), DiagnosisChoice("icpc2", "S82")],
    ),
    # Ola's scalp (English): seborrhoeic dermatitis, with a prescription.
    "ola_scalp": review(
        outcome="advice",
        diagnosis="Seborrhoeic dermatitis of the scalp (a common kind of dandruff eczema)",
        assessment=(
            "Diffuse fine scaling and mild erythema of the scalp, no plaques beyond the "
            "hairline, nails normal. Typical seborrhoeic dermatitis; no sign of psoriasis."
        ),
        advice=(
            "This is a common and harmless skin condition. Wash your hair with the prescribed "
            "anti-dandruff shampoo twice a week. It often comes back, and then you can repeat "
            "the treatment."
        ),
        safety_net=(
            "Contact us or your GP if it spreads to your face or body, or has not improved "
            "after four weeks of treatment."
        ),
        advice_gp="Seboreisk dermatitt i hodebunnen. Ketokonazol sjampo forskrevet.",
        guides=[],
        diagnoses=[DiagnosisChoice("icd10", "L21.0", True), DiagnosisChoice("icpc2", "S86")],
        prescriptions=[
            PrescriptionLine(
                drug="Ketoconazole shampoo",
                strength="20 mg/g",
                dosage="Lather into the scalp, leave for 3 to 5 minutes, rinse; twice a week",
                duration="4 weeks, then once every 1 to 2 weeks",
                instructions="Avoid the eyes. Use your usual shampoo on the other days.",
            )
        ],
    ),
    # Astrid's mole: suspected melanoma, referred in person on the cancer patient pathway.
    "referral_pk": review(
        outcome="referral",
        diagnosis="Føflekk som må undersøkes nærmere på sykehus",
        assessment=(
            "Pigmentert lesjon 9 mm med ujevn farge og uregelmessig kant, ny vekst siste "
            "måneder. 7-punktsskår 5. Mistanke om malignt melanom."
        ),
        advice=(
            "Føflekken har forandringer som må undersøkes nærmere. Du er henvist til "
            "hudavdelingen i et pakkeforløp, og får innkalling derfra snart."
        ),
        safety_net="Hører du ikke noe innen en uke, ring fastlegen din.",
        advice_gp="Henvist i pakkeforløp for føflekkreft til Hudavdelingen, Testsykehuset Nord.",
        guides=["mole-self-check"],
        diagnoses=[DiagnosisChoice("icd10", "D48.5", True), DiagnosisChoice("icpc2", "S82")],
        referral=ReferralDetails(
            priority="urgent",
            pathway="pk_melanoma",
            receiver=REFERRAL_RECEIVER,
            reason=(
                "Mistanke om malignt melanom på ryggen: 9 mm, ujevn farge, vekst. "
                "Ønsker eksisjon og histologi."
            ),
        ),
    ),
    "actinic_keratosis": review(
        outcome="advice",
        diagnosis="Aktinisk keratose (solskader i huden)",
        assessment="Flere aktiniske keratoser på solutsatt hud, underarm. Lav risiko.",
        advice=(
            "Flekkene er solskader i huden. De er ikke kreft, men bør behandles. Fastlegen din "
            "kan fryse dem bort. Bruk solkrem med høy faktor og dekk til huden i sterk sol."
        ),
        safety_net="Ta kontakt hvis en flekk blir tykk, øm, blør eller vokser raskt.",
        advice_gp="Aktiniske keratoser, underarm. Anbefaler kryoterapi hos fastlege.",
        guides=["sun-protection"],
        diagnoses=[DiagnosisChoice("icd10", "L57.0", True), DiagnosisChoice("icpc2", "S80")],
    ),
    "nail_fungus": review(
        outcome="advice",
        diagnosis="Neglesopp",
        assessment="Distal subungual onykomykose på stortånegl, en negl. Ikke testet.",
        advice=(
            "Dette er sannsynligvis neglesopp. Det er ufarlig, men tar lang tid å behandle. Ta "
            "en neglprøve hos fastlegen før du begynner med behandling."
        ),
        safety_net="Ta kontakt hvis huden rundt neglen blir rød, hoven eller øm.",
        advice_gp="Mistenkt onykomykose. Anbefaler soppdyrkning før eventuell behandling.",
        guides=["fungal-infections"],
        diagnoses=[DiagnosisChoice("icd10", "B35.1", True), DiagnosisChoice("icpc2", "S74")],
    ),
    "hand_eczema": review(
        outcome="advice",
        diagnosis="Håndeksem",
        assessment="Tørr, fissurert hud på håndflater og fingre. Ingen tegn til infeksjon.",
        advice=(
            "Dette ser ut som håndeksem. Bruk fet, parfymefri fuktighetskrem mange ganger "
            "daglig, og hansker ved vått arbeid. Smør et middels sterkt kortisonkrem om kvelden "
            "i to uker."
        ),
        safety_net="Ta kontakt igjen hvis det ikke er bedre om fire uker, eller det væsker.",
        advice_gp="Irritativt håndeksem. Gruppe II-steroid i to uker, deretter fuktighetskrem.",
        guides=["eczema-care"],
        diagnoses=[DiagnosisChoice("icd10", "L30.9", True), DiagnosisChoice("icpc2", "S88")],
    ),
    "video": review(
        outcome="video",
        diagnosis="Seborrøisk eksem eller psoriasis i hodebunnen",
        assessment=(
            "Langvarig skjelling i hodebunnen. Bildene skiller ikke sikkert mellom seborrøisk "
            "dermatitt og psoriasis. Ønsker å se albuer, knær og negler."
        ),
        advice=(
            "Vi vil gjerne se deg på en kort videokonsultasjon, for å se flere steder på "
            "huden. Du får en innkalling med tidspunkt."
        ),
        safety_net="Blir det mye verre før samtalen, kontakt fastlegen din.",
        advice_gp="Videokonsultasjon bestilt for å skille seboreisk dermatitt fra psoriasis.",
        guides=["psoriasis"],
        diagnoses=[DiagnosisChoice("icd10", "L21.0", True), DiagnosisChoice("icpc2", "S86")],
        video_reason="Se albuer, knær og negler; spørre om leddsmerter og arv.",
    ),
}

# Erik's draft, not yet signed: a sore on the nose that looks like basal cell carcinoma.
ERIK_DRAFT = review(
    outcome="referral",
    diagnosis="Mulig basalcellekreft (en vanlig og langsomt voksende hudkreft)",
    assessment=(
        "Ikke-helende, blødende sår på nesen i flere måneder. Perlemorsaktig kant med "
        "teleangiektasier. Forenlig med basalcellekarsinom."
    ),
    diagnoses=[DiagnosisChoice("icd10", "C44.3", True), DiagnosisChoice("icpc2", "S77")],
    referral=ReferralDetails(
        priority="soon",
        receiver="Hudavdelingen, UNN Tromsø",
        reason="Mistenkt basalcellekarsinom på nesen, ønsker biopsi og behandling.",
    ),
)


# --- Messages through Norsk Helsenett (telederm.interop) -------------------------------------

# A GP's referral that came as a KITH Henvisning 2.0 from Nordkapp legesenter: a new patient.
GP_REFERRAL: dict[str, Any] = {
    "patient_name": "Marit Solberg",
    "birth_date": "1961-04-17",
    "reason": "Pigmentert lesjon på venstre legg, vokst siste halvår. Spørsmål om melanom.",
    "clinical_information": (
        "Kvinne 65 år. Lesjonen er 8 mm, asymmetrisk med ujevn farge og uskarp avgrensning. "
        "Ingen blødning. Ingen tidligere hudkreft. Bilder vedlagt (oversikt og nærbilde)."
    ),
    "requested_service": "Vurdering av bildene, ev. time til eksisjon.",
    "priority": "urgent",
    "cancer_pathway": True,
}

# What `telederm messages example-referral` writes: a routine question, another patient each time.
EXAMPLE_REFERRAL: dict[str, Any] = {
    "reason": "Sår på nesen som ikke har grodd på tre måneder. Spørsmål om basalcellekarsinom.",
    "clinical_information": (
        "Perleglinsende kant, sentral skorpe, 6 mm. Blør av og til. Bilder vedlagt."
    ),
    "requested_service": "Vurdering av bildene og råd om videre behandling.",
    "priority": "soon",
    "cancer_pathway": False,
}
EXAMPLE_PATIENT_NAMES = ["Eva Strøm", "Knut Aasen", "Berit Lien", "Odd Bakken", "Hilde Moen"]

# The GP office's system could not file one answer: its AppRec rejects it (kodeverk 8221), so the
# operator's page (/operator/messages/) has a rejected message to look into.
APPREC_REJECTION = ("E35", "Pasienten står ikke på listen hos noen fastlege ved legekontoret.")
