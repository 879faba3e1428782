"""The error the test-wide network guard (tests/conftest.py) raises."""


class ForbiddenNetworkAccess(AssertionError):
    """A test tried to reach something other than loopback."""
