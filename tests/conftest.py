from tests.fixtures.smtp import *  # noqa: F401,F403
