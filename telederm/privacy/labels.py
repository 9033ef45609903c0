"""Access-log actions in plain language, for the patient and the privacy officer."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: dict[str, Promise] = {
    "patient.register": _("registered you as a patient"),
    "patient.lookup": _("looked you up by your national identity number"),
    "patient.account.link": _("linked your sign-in to your patient record"),
    "case.create": _("started a case about you"),
    "case.edit": _("changed the questionnaire of your case"),
    "case.submit": _("sent your case to the clinic"),
    "case.withdraw": _("withdrew your case"),
    "case.view": _("opened your case"),
    "case.list.view": _("saw your case in a list of cases"),
    "queue.list.view": _("saw your case in the clinic's queue"),
    "case.take": _("started the review of your case"),
    "case.answer": _("answered your case"),
    "case.grant": _("gave a health professional access to your case"),
    "case.grant.revoke": _("ended a health professional's access to your case"),
    "case.break_glass": _("opened your case outside their usual access"),
    "lesion.add": _("described a spot or rash"),
    "photo.add": _("added a photo"),
    "photo.remove": _("removed a photo"),
    "photo.view": _("looked at a photo"),
    "api.case.view": _("read your case through a connected system"),
    "api.case.list.view": _("saw your case in a list through a connected system"),
    "case.break_glass.review": _("reviewed an emergency access to your case"),
    "case.escalate": _("marked your case as an emergency"),
    "case.triage.claim": _("took your case for triage"),
    "case.triage.release": _("handed your case back to the triage queue"),
    "case.triage.priority": _("set the priority of your case"),
    "case.triage.note": _("wrote a triage note on your case"),
    "case.triage.info_request": _("asked for more information or new photos"),
    "case.triage.self_care": _("gave self-care advice and closed your case"),
    "case.triage.forward": _("passed your case to a dermatologist"),
    "case.triage.resolve": _("dealt with the emergency on your case"),
    "triage.queue.list.view": _("saw your case in the triage queue"),
    "alarm.acknowledge": _("answered an alarm about your case"),
    "case.review.save": _("saved a draft answer to your case"),
    "case.info_request": _("asked for more information about your case"),
    "case.message.send": _("sent a message on your case"),
    "case.messages.view": _("read the messages on your case"),
    "case.summary.download": _("downloaded the answer summary as PDF"),
    "symptom_check.create": _("checked symptoms"),
    "symptom_check.view": _("looked at a symptom check"),
    "symptom_check.start_case": _("started a case from a symptom check"),
    "access_log.own.view": _("looked at this list"),
    "access_log.review.view": _("reviewed the access log"),
    # Messages with other health services (the interop app).
    "message.queue": _("prepared a message about you to another health service"),
    "message.send": _("sent a message about you to another health service"),
    "message.receipt": _("got a receipt for a message about you from another health service"),
    "message.receive": _("sent a message about you to the clinic through the health network"),
    "message.view": _("looked at a message about you to or from another health service"),
    "message.resend": _("sent a message about you to another health service again"),
    "message.cancel": _("stopped a message about you to another health service"),
    "case.discharge": _("closed your case and sent a discharge summary to your GP"),
    # Connected systems reading and writing through the FHIR API.
    "fhir.referral.create": _("referred you through a connected system"),
    "fhir.referral.view": _("read a referral about you through a connected system"),
    "fhir.servicerequest.update": _("changed your case through a connected system"),
    "fhir.patient.view": _("read your details through a connected system"),
    "fhir.patient.list.view": _("found you in a search through a connected system"),
    "fhir.servicerequest.view": _("read your case through a connected system"),
    "fhir.servicerequest.list.view": _("saw your case in a search through a connected system"),
    "fhir.task.view": _("read where your case stands through a connected system"),
    "fhir.task.list.view": _("saw where your case stands in a search through a connected system"),
    "fhir.questionnaireresponse.view": _(
        "read your answers to the questions through a connected system"
    ),
    "fhir.questionnaireresponse.list.view": _(
        "saw your answers to the questions in a search through a connected system"
    ),
    "fhir.media.view": _("read the details of a photo through a connected system"),
    "fhir.media.list.view": _("saw your photos in a search through a connected system"),
    "fhir.condition.view": _("read a diagnosis through a connected system"),
    "fhir.condition.list.view": _("saw your diagnoses in a search through a connected system"),
    "fhir.medicationrequest.view": _("read a prescription through a connected system"),
    "fhir.medicationrequest.list.view": _(
        "saw your prescriptions in a search through a connected system"
    ),
    "fhir.communication.view": _("read a message on your case through a connected system"),
    "fhir.communication.list.view": _(
        "saw the messages on your case in a search through a connected system"
    ),
    "fhir.documentreference.view": _("read the answer summary through a connected system"),
    "fhir.documentreference.list.view": _(
        "saw your answer summaries in a search through a connected system"
    ),
    "fhir.auditevent.view": _("read an entry of this list through a connected system"),
    "fhir.auditevent.list.view": _("read this list through a connected system"),
}

# Reads that show many patients at once: part of everyday work, not counted as a look at one
# patient when the privacy officer looks for unusual patterns.
LISTING_SUFFIX = "list.view"


def describe(action: str) -> str:
    """The plain-language sentence for an action, or the action's code if it has none yet."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def is_listing(action: str) -> bool:
    return action.endswith(LISTING_SUFFIX)
