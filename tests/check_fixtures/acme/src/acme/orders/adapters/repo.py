from ..domain.order import Order
from ..service import \
    OrderService
