"""The catalog's HTTP routes (mounted under ``/catalog``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from dolmen import Inject
from shop.catalog.api import CatalogService, NewProduct, ProductView, Sku

router = APIRouter(tags=["catalog"])


@router.post("/products", status_code=201, response_model=ProductView)
async def add_product(
    product: NewProduct, catalog: Annotated[CatalogService, Inject(CatalogService)]
) -> ProductView:
    """Add a product to the catalog (409 if the SKU exists)."""
    return await catalog.add_product(product)


@router.get("/products/{sku}", response_model=ProductView)
async def get_product(
    sku: Annotated[Sku, Path()], catalog: Annotated[CatalogService, Inject(CatalogService)]
) -> ProductView:
    """One product by SKU (404 if unknown)."""
    return await catalog.get_product(sku)
