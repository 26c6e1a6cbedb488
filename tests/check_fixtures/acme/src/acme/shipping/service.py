from acme.orders.api import OrderPlaced
from acme.billing import api
