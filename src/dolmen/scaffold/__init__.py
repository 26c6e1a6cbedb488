"""Scaffolding: ``dolmen new project`` and ``dolmen new module`` write code the right way.

The templates are files inside this package (``templates/``), rendered with
:class:`string.Template`; everything is written all or nothing.
"""

from dolmen.scaffold._module import NewModule, Project, add_module
from dolmen.scaffold._names import check_module_name, check_project_name
from dolmen.scaffold._project import EXAMPLE_MODULE, NewProject, create_project
from dolmen.scaffold.exceptions import InvalidNameError, RegistrationError, ScaffoldError

__all__ = [
    "EXAMPLE_MODULE",
    "InvalidNameError",
    "NewModule",
    "NewProject",
    "Project",
    "RegistrationError",
    "ScaffoldError",
    "add_module",
    "check_module_name",
    "check_project_name",
    "create_project",
]
