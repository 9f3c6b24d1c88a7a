"""The words of the resource's private pages, in Swedish and English."""

from __future__ import annotations

from services.resources.domain import Status
from shared.taxonomy import Language

TEXTS: dict[Language, dict[str, str]] = {
    Language.SV: {
        "confirm.title": "Bekräfta din registrering",
        "confirm.intro": "Hej {name}! Tryck på knappen för att bekräfta att du vill finnas i Meet Malmös "
        "resursregister.",
        "confirm.button": "Bekräfta",
        "confirmed.title": "Tack, nu är du registrerad",
        "confirmed.body": "Vi har skickat en länk till din profil via e-post. Där kan du ändra, pausa eller ta "
        "bort den.",
        "already.title": "Redan bekräftad",
        "already.body": "Den här registreringen är redan bekräftad. Du behöver inte göra något mer.",
        "expired.title": "Länken har gått ut",
        "expired.body": "Bekräftelselänken gällde i 7 dagar. Fyll i registreringen igen med samma e-postadress, "
        "så skickar vi en ny länk.",
        "replaced.title": "Länken har ersatts",
        "replaced.body": "Vi har skickat en nyare bekräftelselänk. Använd länken i det senaste mejlet, eller fyll i "
        "registreringen igen för att få en ny.",
        "profile.title": "Din profil i Meet Malmö",
        "profile.paused": "Din profil är pausad: du får inga inbjudningar till arbetsgrupper förrän du återupptar den.",
        "profile.withdrawn": "Du har lämnat resursregistret. Dina uppgifter finns kvar tills du tar bort dem.",
        "profile.pending": "Din registrering är inte bekräftad än.",
        "pause": "Pausa",
        "resume": "Återuppta",
        "withdraw": "Lämna resursregistret",
        "export": "Ladda ner mina uppgifter",
        "erase": "Ta bort mig…",
        "erase.title": "Vill du ta bort dig?",
        "erase.body": "Alla dina uppgifter raderas i Meet Malmö. Det går inte att ångra.",
        "erase.button": "Ja, ta bort mig",
        "erased.title": "Dina uppgifter är borttagna",
        "erased.body": "Vi har raderat dina uppgifter. Tack för att du ville bidra!",
        "done.paused": "Din profil är pausad.",
        "done.active": "Din profil är aktiv igen.",
        "done.withdrawn": "Du har lämnat resursregistret.",
        "status": "Status",
        "name": "Namn",
        "email": "E-post",
        "phone": "Telefon",
        "organisation": "Organisation",
        "role_title": "Roll",
        "competences": "Kompetenser",
        "themes": "Teman",
        "capacity": "Antal arbetsgrupper samtidigt",
        "hours_per_month": "Timmar per månad",
        "languages": "Språk",
    },
    Language.EN: {
        "confirm.title": "Confirm your registration",
        "confirm.intro": "Hello {name}! Press the button to confirm that you want to be in Meet Malmö's resource "
        "registry.",
        "confirm.button": "Confirm",
        "confirmed.title": "Thank you, you are registered",
        "confirmed.body": "We have emailed you a link to your profile, where you can change, pause or erase it.",
        "already.title": "Already confirmed",
        "already.body": "This registration is already confirmed. There is nothing more to do.",
        "expired.title": "This link has expired",
        "expired.body": "The confirmation link was valid for 7 days. Fill in the registration again with the same "
        "email address and we will send you a new link.",
        "replaced.title": "This link has been replaced",
        "replaced.body": "We have sent you a newer confirmation link. Use the link in the latest email, or fill in "
        "the registration again to get a new one.",
        "profile.title": "Your Meet Malmö profile",
        "profile.paused": "Your profile is paused: you get no invitations to working groups until you resume.",
        "profile.withdrawn": "You have left the resource registry. Your details stay until you erase them.",
        "profile.pending": "Your registration is not confirmed yet.",
        "pause": "Pause",
        "resume": "Resume",
        "withdraw": "Leave the resource registry",
        "export": "Download my data",
        "erase": "Erase me…",
        "erase.title": "Do you want to be erased?",
        "erase.body": "All your details are deleted from Meet Malmö. This cannot be undone.",
        "erase.button": "Yes, erase me",
        "erased.title": "Your details are erased",
        "erased.body": "We have deleted your details. Thank you for wanting to contribute!",
        "done.paused": "Your profile is paused.",
        "done.active": "Your profile is active again.",
        "done.withdrawn": "You have left the resource registry.",
        "status": "Status",
        "name": "Name",
        "email": "Email",
        "phone": "Phone",
        "organisation": "Organisation",
        "role_title": "Role",
        "competences": "Competences",
        "themes": "Themes",
        "capacity": "Working groups at the same time",
        "hours_per_month": "Hours per month",
        "languages": "Languages",
    },
}
STATUS_LABELS = {
    Language.SV: {
        Status.PENDING_CONFIRMATION: "Väntar på bekräftelse",
        Status.ACTIVE: "Aktiv",
        Status.PAUSED: "Pausad",
        Status.WITHDRAWN: "Har lämnat registret",
    },
    Language.EN: {
        Status.PENDING_CONFIRMATION: "Awaiting confirmation",
        Status.ACTIVE: "Active",
        Status.PAUSED: "Paused",
        Status.WITHDRAWN: "Left the registry",
    },
}


def text(lang: Language, key: str, **values: str) -> str:
    return TEXTS[lang][key].format(**values)


def label(sv_en: tuple[str, str], lang: Language) -> str:
    return sv_en[0] if lang is Language.SV else sv_en[1]
