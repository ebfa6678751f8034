from tests.fixtures.bind import *  # noqa: F403
from tests.fixtures.dns import *  # noqa: F403
from tests.fixtures.nameservers import *  # noqa: F403
from tests.fixtures.registry import *  # noqa: F403
from tests.fixtures.smtp import *  # noqa: F403
from tests.fixtures.ui import *  # noqa: F403
from tests.fixtures.ui_modals import *  # noqa: F403
