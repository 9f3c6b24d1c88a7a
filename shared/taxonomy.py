"""The Meet Malmö taxonomy, kept in one place: codes with Swedish and English labels.

Intake and resources both serve it at GET /api/v1/taxonomy and validate against these codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Label(BaseModel):
    code: str
    sv: str
    en: str


class Theme(StrEnum):
    COMPETENCE_PROVISION = "competence_provision"
    ESTABLISHMENT_OF_NEW_ARRIVALS = "establishment_of_new_arrivals"
    INDUSTRY_SPECIFIC_ISSUES = "industry_specific_issues"
    INVESTMENTS = "investments"
    EMPLOYMENT = "employment"
    EDUCATION_AND_TRAINING = "education_and_training"
    ENTREPRENEURSHIP = "entrepreneurship"
    SUSTAINABILITY_AND_CLIMATE = "sustainability_and_climate"
    URBAN_DEVELOPMENT = "urban_development"
    DIGITALISATION = "digitalisation"


THEMES_SV_EN: dict[Theme, tuple[str, str]] = {
    Theme.COMPETENCE_PROVISION: ("Kompetensförsörjning", "Competence provision"),
    Theme.ESTABLISHMENT_OF_NEW_ARRIVALS: ("Etablering av nyanlända", "Establishment of new arrivals"),
    Theme.INDUSTRY_SPECIFIC_ISSUES: ("Branschfrågor", "Industry-specific issues"),
    Theme.INVESTMENTS: ("Investeringar", "Investments"),
    Theme.EMPLOYMENT: ("Sysselsättning", "Employment"),
    Theme.EDUCATION_AND_TRAINING: ("Utbildning och kompetensutveckling", "Education and training"),
    Theme.ENTREPRENEURSHIP: ("Entreprenörskap och nyföretagande", "Entrepreneurship and start-ups"),
    Theme.SUSTAINABILITY_AND_CLIMATE: ("Hållbarhet och klimat", "Sustainability and climate"),
    Theme.URBAN_DEVELOPMENT: ("Stadsutveckling", "Urban development"),
    Theme.DIGITALISATION: ("Digitalisering", "Digitalisation"),
}


class OrganisationType(StrEnum):
    BUSINESS = "business"
    MUNICIPALITY = "municipality"
    PUBLIC_AUTHORITY = "public_authority"
    INDUSTRY_ORGANISATION = "industry_organisation"
    OTHER = "other"


ORGANISATION_TYPES_SV_EN: dict[OrganisationType, tuple[str, str]] = {
    OrganisationType.BUSINESS: ("Näringsliv", "Business"),
    OrganisationType.MUNICIPALITY: ("Kommun", "Municipality"),
    OrganisationType.PUBLIC_AUTHORITY: ("Myndighet", "Public authority"),
    OrganisationType.INDUSTRY_ORGANISATION: ("Branschorganisation", "Industry organisation"),
    OrganisationType.OTHER: ("Övrig", "Other"),
}


class Seeking(StrEnum):
    COLLABORATION_PARTNERS = "collaboration_partners"
    IDEA_TESTING = "idea_testing"
    COMPETENCES = "competences"
    PREMISES = "premises"
    FUNDING = "funding"
    OTHER_RESOURCES = "other_resources"


SEEKING_SV_EN: dict[Seeking, tuple[str, str]] = {
    Seeking.COLLABORATION_PARTNERS: ("Samarbetspartner", "Collaboration partners"),
    Seeking.IDEA_TESTING: ("Testa en idé", "Testing an idea"),
    Seeking.COMPETENCES: ("Kompetenser", "Competences"),
    Seeking.PREMISES: ("Lokaler", "Premises"),
    Seeking.FUNDING: ("Finansiering", "Funding"),
    Seeking.OTHER_RESOURCES: ("Andra resurser", "Other resources"),
}


class Competence(StrEnum):
    PROJECT_MANAGEMENT = "project_management"
    RECRUITMENT = "recruitment"
    EDUCATION = "education"
    MENTORING = "mentoring"
    LANGUAGE_TRAINING = "language_training"
    PUBLIC_PROCUREMENT = "public_procurement"
    URBAN_PLANNING = "urban_planning"
    REAL_ESTATE = "real_estate"
    FINANCE = "finance"
    LEGAL = "legal"
    MARKETING_COMMUNICATION = "marketing_communication"
    IT_DEVELOPMENT = "it_development"
    DATA_ANALYSIS = "data_analysis"
    SUSTAINABILITY = "sustainability"
    LOGISTICS = "logistics"
    HOSPITALITY = "hospitality"
    CONSTRUCTION = "construction"
    HEALTH_CARE = "health_care"
    LABOUR_MARKET = "labour_market"
    BUSINESS_DEVELOPMENT = "business_development"
    ENTREPRENEURSHIP_SUPPORT = "entrepreneurship_support"
    NETWORK_BUILDING = "network_building"


COMPETENCES_SV_EN: dict[Competence, tuple[str, str]] = {
    Competence.PROJECT_MANAGEMENT: ("Projektledning", "Project management"),
    Competence.RECRUITMENT: ("Rekrytering", "Recruitment"),
    Competence.EDUCATION: ("Utbildning", "Education"),
    Competence.MENTORING: ("Mentorskap", "Mentoring"),
    Competence.LANGUAGE_TRAINING: ("Språkundervisning", "Language training"),
    Competence.PUBLIC_PROCUREMENT: ("Offentlig upphandling", "Public procurement"),
    Competence.URBAN_PLANNING: ("Stadsplanering", "Urban planning"),
    Competence.REAL_ESTATE: ("Fastigheter och lokaler", "Real estate and premises"),
    Competence.FINANCE: ("Finansiering och ekonomi", "Finance"),
    Competence.LEGAL: ("Juridik", "Legal"),
    Competence.MARKETING_COMMUNICATION: ("Marknadsföring och kommunikation", "Marketing and communication"),
    Competence.IT_DEVELOPMENT: ("IT-utveckling", "IT development"),
    Competence.DATA_ANALYSIS: ("Dataanalys", "Data analysis"),
    Competence.SUSTAINABILITY: ("Hållbarhetsarbete", "Sustainability"),
    Competence.LOGISTICS: ("Logistik", "Logistics"),
    Competence.HOSPITALITY: ("Besöksnäring", "Hospitality"),
    Competence.CONSTRUCTION: ("Bygg", "Construction"),
    Competence.HEALTH_CARE: ("Vård och omsorg", "Health and care"),
    Competence.LABOUR_MARKET: ("Arbetsmarknadsfrågor", "Labour market"),
    Competence.BUSINESS_DEVELOPMENT: ("Affärsutveckling", "Business development"),
    Competence.ENTREPRENEURSHIP_SUPPORT: ("Nyföretagarstöd", "Start-up support"),
    Competence.NETWORK_BUILDING: ("Nätverksbyggande", "Network building"),
}


class Language(StrEnum):
    SV = "sv"
    EN = "en"


LANGUAGES_SV_EN: dict[Language, tuple[str, str]] = {
    Language.SV: ("Svenska", "Swedish"),
    Language.EN: ("Engelska", "English"),
}


def labels(names: Mapping[Any, tuple[str, str]]) -> tuple[Label, ...]:
    return tuple(Label(code=code.value, sv=sv, en=en) for code, (sv, en) in names.items())


class Taxonomy(BaseModel):
    themes: tuple[Label, ...]
    organisation_types: tuple[Label, ...]
    seeking: tuple[Label, ...]
    competences: tuple[Label, ...]
    languages: tuple[Label, ...]


TAXONOMY = Taxonomy(
    themes=labels(THEMES_SV_EN),
    organisation_types=labels(ORGANISATION_TYPES_SV_EN),
    seeking=labels(SEEKING_SV_EN),
    competences=labels(COMPETENCES_SV_EN),
    languages=labels(LANGUAGES_SV_EN),
)
