from acme.catalog import _internal
from acme.catalog._internal import (
    helper,
)
from ..catalog.service import Catalog
from acme.catalog import api
from .domain.order import Order
from acme.catalog import _internal as again  # dolmen: ignore[private-import] migrating, see #42
from acme.catalog._internal import helper as h2  # dolmen: ignore[private-import]


class OrderService:
    pass
