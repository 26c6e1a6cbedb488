"""What can go wrong in the catalog, in its own words."""


class UnknownProduct(LookupError):
    """No product has this SKU."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with SKU {sku!r}")
        self.sku = sku


class DuplicateProduct(ValueError):
    """A product with this SKU already exists."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"a product with SKU {sku!r} already exists")
        self.sku = sku


class InsufficientStock(ValueError):
    """Fewer items are in stock than asked for."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"only {available} of {sku!r} in stock, {requested} requested")
        self.sku = sku
        self.requested = requested
        self.available = available
