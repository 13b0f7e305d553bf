"""The course modules: one YAML file per section (see README.md); shipped as package data."""
