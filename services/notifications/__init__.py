"""Notifications: the emails staff, originators and members receive."""
