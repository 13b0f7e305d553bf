"""The course: module YAML, loading and validation, notebook build, and the `alr` command line."""
