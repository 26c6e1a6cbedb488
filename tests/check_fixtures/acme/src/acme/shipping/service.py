from acme.orders.api import OrderPlaced
from acme.billing import api


class Box[T]:
    type Items = list[T]
