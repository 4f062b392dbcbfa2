"""Admin for events, split by area so each stays readable."""
