"""Meet Malmö's shared library: event contracts and messaging mechanism, no domain rules."""
