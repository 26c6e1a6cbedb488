"""``dolmen deploy``: a Docker Compose file or Kubernetes manifests for an app's units.

:class:`Deployment` is what to deploy (the app, an environment, its :class:`Topology`, the
image); :func:`compose_file` and :func:`kubernetes_manifests` turn it into documents and
:func:`dump_yaml` into the same bytes every time. No secret value is ever written.
"""

from dolmen.units.deploy._compose import compose_file, compose_header
from dolmen.units.deploy._kubernetes import (
    kubernetes_header,
    kubernetes_manifests,
    secret_keys,
    secret_name,
)
from dolmen.units.deploy._plan import Database, DeployError, Deployment, deployed_topology
from dolmen.units.deploy._yaml import dump_yaml

__all__ = [
    "Database",
    "DeployError",
    "Deployment",
    "compose_file",
    "compose_header",
    "deployed_topology",
    "dump_yaml",
    "kubernetes_header",
    "kubernetes_manifests",
    "secret_keys",
    "secret_name",
]
