"""Root conftest: makes the shared fixtures in tests/fixtures.py visible to unit tests that sit beside
the code (services/*/tests, pipelines/tests, cli/tests)."""

pytest_plugins = ["tests.fixtures"]
