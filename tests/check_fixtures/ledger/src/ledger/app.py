"""The composition root: two modules, one event between them."""

from dolmen import App
from ledger.billing.module import module as billing
from ledger.orders.module import module as orders

app = App("ledger", modules=[orders, billing])
