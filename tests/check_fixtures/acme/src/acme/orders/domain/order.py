from typing import TYPE_CHECKING

import sqlalchemy

from ..web import handler

if TYPE_CHECKING:
    from fastapi import Request


class Order:
    pass
