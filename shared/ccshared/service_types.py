"""The controlled list of services a centre can offer: one list for every service.

The directory publishes it (`/api/v1/services-list` and the Open Referral UK
taxonomy), a referral's `support_needed` takes its codes, and the front end
shows its labels. Codes are stable slugs that other services store; labels may
be reworded without breaking them. Each code also has a stable UUID, so the
ORUK feed can publish it as a taxonomy term.

Before this list had one home, the contacts service kept its own copy with
underscore codes; those stay accepted as deprecated aliases (`ALIASES`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

NAMESPACE = uuid.UUID("6f1c2a52-4d0e-5b7f-9a43-0c1d2e3f4a5b")
TAXONOMY_NAME = "liverpool-childrens-centres-services"


@dataclass(frozen=True)
class ServiceType:
    id: str
    label: str
    description: str

    @property
    def term_id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, f"service-type:{self.id}"))


SERVICE_TYPES = (
    ServiceType("childcare", "Childcare", "Day care and nursery places for children under five."),
    ServiceType(
        "early-education", "Early education", "Funded early education for two, three and four year olds."
    ),
    ServiceType(
        "stay-and-play", "Stay and play", "Drop-in play sessions for parents and carers with their children."
    ),
    ServiceType(
        "health-visitor-clinic",
        "Health visitor clinic",
        "Baby weighing, development checks and advice from health visitors.",
    ),
    ServiceType(
        "midwife-clinic", "Midwife clinic", "Antenatal and postnatal appointments with community midwives."
    ),
    ServiceType(
        "speech-and-language",
        "Speech and language",
        "Speech, language and communication support for young children.",
    ),
    ServiceType(
        "parenting-courses", "Parenting courses", "Group courses and workshops for parents and carers."
    ),
    ServiceType(
        "adult-learning",
        "Adult learning and basic skills",
        "English, maths, digital skills and other courses for adults.",
    ),
    ServiceType(
        "employment-support",
        "Job Centre Plus employment support",
        "Advice on work, training and benefits with Job Centre Plus.",
    ),
    ServiceType("family-support", "Family support", "One-to-one help for families facing difficulties."),
    ServiceType(
        "send-support",
        "SEND support",
        "Support for children with special educational needs and disabilities.",
    ),
    ServiceType(
        "healthy-lifestyle", "Healthy lifestyle", "Healthy eating, breastfeeding and active play support."
    ),
    ServiceType(
        "confidential-advice",
        "Confidential advice",
        "Private advice on money, housing, relationships and wellbeing.",
    ),
)
SERVICE_IDS = tuple(service.id for service in SERVICE_TYPES)
BY_ID = {service.id: service for service in SERVICE_TYPES}
BY_TERM_ID = {service.term_id: service for service in SERVICE_TYPES}

# Deprecated codes of the contacts service's old copy -> the published code.
ALIASES = {
    "early_education": "early-education",
    "stay_and_play": "stay-and-play",
    "health_visitor_clinic": "health-visitor-clinic",
    "midwife_clinic": "midwife-clinic",
    "speech_and_language": "speech-and-language",
    "parenting_courses": "parenting-courses",
    "adult_learning": "adult-learning",
    "job_centre_plus": "employment-support",
    "family_support": "family-support",
    "send_support": "send-support",
    "healthy_lifestyle": "healthy-lifestyle",
    "confidential_advice": "confidential-advice",
}
ACCEPTED_CODES = SERVICE_IDS + tuple(ALIASES)


def canonical(code: str) -> str:
    """The published code for a published code or a deprecated alias; KeyError otherwise."""
    if code in BY_ID:
        return code
    return ALIASES[code]


def label(code: str) -> str:
    """The label to show people; an unknown code is shown as it is."""
    service = BY_ID.get(ALIASES.get(code, code))
    return service.label if service else code
