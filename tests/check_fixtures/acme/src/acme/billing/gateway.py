from acme.orders.api import OrderPlaced
