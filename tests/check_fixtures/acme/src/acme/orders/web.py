from .service import OrderService


def handler():
    import acme.billing.gateway

    return acme.billing.gateway
