from acme.orders.service import OrderService
from acme.orders import api
