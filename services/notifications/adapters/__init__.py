"""Notifications's outbound ports: the SMTP server and the Jinja2 templates emails are rendered from."""
