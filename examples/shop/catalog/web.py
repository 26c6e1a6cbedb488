"""The catalog's HTTP routes (mounted under ``/catalog``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from dolmen import Inject, problem_responses
from shop.catalog.api import CatalogService, NewProduct, ProductView, Sku

router = APIRouter(tags=["catalog"])

# The link tells clients (and schemathesis' stateful tests) where the new product is.
PRODUCT_LINKS = {
    "GetProduct": {"operationId": "get_product", "parameters": {"sku": "$response.body#/sku"}}
}


@router.post(
    "/products",
    status_code=201,
    response_model=ProductView,
    operation_id="add_product",
    responses={
        201: {"description": "The product, as added.", "links": PRODUCT_LINKS},
        **problem_responses(409, descriptions={409: "A product with this SKU exists."}),
    },
)
async def add_product(
    product: NewProduct, catalog: Annotated[CatalogService, Inject(CatalogService)]
) -> ProductView:
    """Add a product to the catalog (409 if the SKU exists)."""
    return await catalog.add_product(product)


@router.get(
    "/products/{sku}",
    response_model=ProductView,
    operation_id="get_product",
    responses=problem_responses(404, descriptions={404: "No product has this SKU."}),
)
async def get_product(
    sku: Annotated[Sku, Path()], catalog: Annotated[CatalogService, Inject(CatalogService)]
) -> ProductView:
    """One product by SKU (404 if unknown)."""
    return await catalog.get_product(sku)
