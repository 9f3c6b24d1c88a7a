"""The small pages a person reaches from an email: confirm the registration, manage the profile.

A GET page only shows; every change is the POST of a button on it (mail scanners open every link).
"""

from services.resources.pages.routes import router

__all__ = ["router"]
