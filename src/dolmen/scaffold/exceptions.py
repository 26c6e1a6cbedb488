"""What can go wrong when Dolmen writes a project or a module."""

from pathlib import Path


class ScaffoldError(Exception):
    """``dolmen new`` cannot write what was asked; nothing was written. The message says why."""


class InvalidNameError(ScaffoldError, ValueError):
    """The name given for a project or a module cannot be used.

    The message says why, and what to choose instead.
    """


class RegistrationError(ScaffoldError):
    """The module was written, but the app's list of modules could not be edited safely.

    The message names the file and the two lines to add by hand; ``files`` lists what was
    written.
    """

    files: tuple[Path, ...] = ()
