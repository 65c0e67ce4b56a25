"""How make test shares the suite among its processes (tests/conftest.py gives the groups)."""

import pytest


def test_make_test_keeps_a_file_in_one_process(request):
    """Each file is one group of pytest-xdist's --dist loadgroup, so its module fixtures (a trained study, the
    multi-worker runs) are built once. pytest 9.2 drops xdist's group suffix from test ids and the groups
    silently stop working (pytest-dev/pytest-xdist#1386): setup.py's test extra keeps pytest below it."""
    if not request.config.getvalue("loadgroup"):
        pytest.skip("run without make test's pytest-xdist --dist loadgroup")
    assert request.node.nodeid.endswith("@test_suite.py"), request.node.nodeid
