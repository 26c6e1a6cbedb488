"""``dolmen new module``: add a module, its tests and its registration to an existing project."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dolmen._pyproject import tool_dolmen
from dolmen.scaffold._migrations import empty_history
from dolmen.scaffold._names import check_module_name
from dolmen.scaffold._register import bound_names, register, registration
from dolmen.scaffold._render import RenderedFile, render_tree
from dolmen.scaffold._writing import write_all
from dolmen.scaffold.exceptions import RegistrationError, ScaffoldError

_DECLARED = re.compile(r"""\bModule\(\s*["']([a-z0-9_]+)["']""")


@dataclass(frozen=True)
class Project:
    """Where a project keeps its app, its modules and its tests."""

    root: Path
    app_spec: str
    app_file: Path
    package: str  # the dotted package the app's modules live in ("" at the top level)
    package_dir: Path
    tests_dir: Path

    @classmethod
    def find(cls, root: Path) -> Project:
        """The project at ``root``, from ``[tool.dolmen]`` ``app`` in its pyproject.toml."""
        try:
            settings = tool_dolmen(root / "pyproject.toml")
        except ValueError as error:
            raise ScaffoldError(str(error)) from None
        spec = settings.get("app")
        if not isinstance(spec, str) or ":" not in spec:
            raise ScaffoldError(
                f"no app found in {root / 'pyproject.toml'}: run this in the project's folder "
                "(or pass --project), whose pyproject.toml names the app under [tool.dolmen] "
                "as app = 'package.app:app'"
            )
        app_dir = root / str(settings.get("app-dir", "."))
        dotted = spec.partition(":")[0]
        package, _, _ = dotted.rpartition(".")
        package_dir = app_dir.joinpath(*package.split(".")) if package else app_dir
        candidates = [app_dir.joinpath(*dotted.split(".")).with_suffix(".py")]
        candidates.append(app_dir.joinpath(*dotted.split("."), "__init__.py"))
        app_file = next((path for path in candidates if path.is_file()), None)
        if app_file is None:
            raise ScaffoldError(
                f"the app {spec!r} named in {root / 'pyproject.toml'} has no file: looked for "
                f"{candidates[0]}; fix [tool.dolmen] app (and app-dir)"
            )
        return cls(root, spec, app_file, package, package_dir, root / "tests")

    def taken_names(self) -> dict[str, str]:
        """Names a new module may not take here, each with what takes it."""
        taken: dict[str, str] = {}
        for entry in sorted(self.package_dir.iterdir()):
            name = entry.name.removesuffix(".py")
            if entry.is_dir() or entry.suffix == ".py":
                taken.setdefault(name, f"{entry} exists")
        for declaration in sorted(self.package_dir.glob("*/module.py")):
            for name in _DECLARED.findall(declaration.read_text(encoding="utf-8")):
                taken[name] = f"module {name!r} is declared in {declaration}"
        if self.tests_dir.is_dir():
            for entry in sorted(self.tests_dir.iterdir()):
                taken.setdefault(entry.name.removesuffix(".py"), f"{entry} exists")
        app_source = self.app_file.read_text(encoding="utf-8")
        try:
            names = bound_names(app_source)
        except SyntaxError:
            names = set()
        for name in names:
            taken.setdefault(name, f"{self.app_file} already uses the name {name!r}")
        return taken


@dataclass(frozen=True)
class NewModule:
    """A module written by :func:`add_module`: its name, files and whether the app lists it."""

    name: str
    project: Project
    files: tuple[Path, ...]
    registered: bool


def add_module(name: str, project_root: Path = Path()) -> NewModule:
    """Add module ``name`` to the project at ``project_root`` and list it in the app.

    Every file is written, and the app's file edited, all or nothing. A name that is invalid
    or taken raises :class:`~dolmen.scaffold.InvalidNameError` and writes nothing. When the app's
    list of modules cannot be edited safely, the module is written and
    :class:`~dolmen.scaffold.RegistrationError` says what to add by hand.
    """
    project = Project.find(project_root.absolute())
    check_module_name(name, project.taken_names())
    module_package = f"{project.package}.{name}" if project.package else name
    variables = {
        "project": project.package.partition(".")[0] or name,
        "package": project.package,
        "module": name,
        "module_package": module_package,
        "class_name": "".join(part.capitalize() for part in name.split("_")),
        "env_name": name.upper(),
    }
    module_files: list[RenderedFile] = []
    test_files: list[RenderedFile] = []
    for file in render_tree("module", variables):
        first, *rest = file.path.parts
        if first == "tests":
            test_files.append(RenderedFile(PurePosixPath(name, *rest), file.text))
        else:
            module_files.append(RenderedFile(PurePosixPath(*rest), file.text))
    module_files += empty_history(name)
    folders = {project.package_dir / name: module_files}
    if project.tests_dir.is_dir():
        folders[project.tests_dir / name] = [_inside(file) for file in test_files]
    else:
        folders[project.tests_dir] = test_files
    added = registration(name, module_package)
    source = project.app_file.read_text(encoding="utf-8")
    try:
        edited: str | None = register(source, project.app_file, added)
        problem = None
    except RegistrationError as error:
        edited, problem = None, error
    write_all(folders, {project.app_file: edited} if edited is not None else None)
    written = [folder.joinpath(*f.path.parts) for folder, fs in folders.items() for f in fs]
    result = NewModule(name, project, tuple(sorted(written)), registered=problem is None)
    if problem is not None:
        problem.files = result.files
        raise problem
    return result


def _inside(file: RenderedFile) -> RenderedFile:
    """``name/x.py`` as ``x.py``: the file goes into the new ``tests/name`` folder."""
    return RenderedFile(PurePosixPath(*file.path.parts[1:]), file.text)
