"""Alembic's environment script for Dolmen's migrations.

Everything it needs (the connection, the module's history) comes from the ``Config`` Dolmen
builds for each command: see :func:`dolmen.migrations._env.run_environment`.
"""

from typing import cast

from alembic import context
from alembic.runtime.environment import EnvironmentContext

from dolmen.migrations._env import run_environment

run_environment(cast(EnvironmentContext, context))  # alembic.context proxies the running one
