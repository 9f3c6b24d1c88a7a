"""Intake: the web portal posts initiatives here; coordinators review them."""
