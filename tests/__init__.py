"""The test suite. A package so the harness imports as tests.infra and no test
directory shadows a service package of the same name."""
