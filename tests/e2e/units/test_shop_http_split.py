"""The shop's HTTP tests, unchanged, against the shop split in three units on one database.

The tests are the ones of ``tests/e2e/test_shop_http.py`` and
``tests/e2e/test_shop_hostile_input.py`` that use ``client``: here ``client`` talks to the
storefront, billing and notifications units through a gateway (see ``conftest.py``), once on
a SQLite file and once on PostgreSQL. The same tests, every topology.
"""

from tests.e2e.test_shop_hostile_input import (
    test_a_path_or_query_parameter_that_cannot_be_stored_is_refused_with_422,
    test_a_price_is_stored_and_shown_with_two_decimal_places,
    test_a_price_out_of_bounds_or_not_a_decimal_string_is_refused_with_422,
    test_a_price_up_to_the_maximum_is_stored_exactly,
    test_a_product_name_with_control_characters_is_refused_with_422,
    test_a_sku_with_a_nul_byte_is_refused_with_422,
    test_a_stock_out_of_bounds_is_refused_with_422,
    test_a_stock_up_to_the_maximum_is_stored_exactly,
    test_an_order_id_is_found_in_any_uuid_spelling,
    test_an_order_item_that_cannot_be_stored_is_refused_with_422,
)
from tests.e2e.test_shop_http import (
    test_a_declined_payment_fails_the_order_returns_the_stock_and_sends_no_notification,
    test_adding_a_product_twice_is_refused_with_409_and_keeps_the_first,
    test_an_order_becomes_paid_and_notifies_the_customer,
    test_an_order_for_an_unknown_sku_is_refused_with_404_and_reserves_nothing,
    test_an_order_for_more_than_the_stock_is_refused_with_409_and_leaves_the_stock_unchanged,
    test_concurrent_orders_never_sell_more_than_the_stock,
    test_the_health_probes_say_the_shop_is_alive_and_its_database_ready,
    test_unknown_products_orders_and_payments_answer_404_problems,
)

__all__ = [
    "test_a_declined_payment_fails_the_order_returns_the_stock_and_sends_no_notification",
    "test_a_path_or_query_parameter_that_cannot_be_stored_is_refused_with_422",
    "test_a_price_is_stored_and_shown_with_two_decimal_places",
    "test_a_price_out_of_bounds_or_not_a_decimal_string_is_refused_with_422",
    "test_a_price_up_to_the_maximum_is_stored_exactly",
    "test_a_product_name_with_control_characters_is_refused_with_422",
    "test_a_sku_with_a_nul_byte_is_refused_with_422",
    "test_a_stock_out_of_bounds_is_refused_with_422",
    "test_a_stock_up_to_the_maximum_is_stored_exactly",
    "test_adding_a_product_twice_is_refused_with_409_and_keeps_the_first",
    "test_an_order_becomes_paid_and_notifies_the_customer",
    "test_an_order_for_an_unknown_sku_is_refused_with_404_and_reserves_nothing",
    "test_an_order_for_more_than_the_stock_is_refused_with_409_and_leaves_the_stock_unchanged",
    "test_an_order_id_is_found_in_any_uuid_spelling",
    "test_an_order_item_that_cannot_be_stored_is_refused_with_422",
    "test_concurrent_orders_never_sell_more_than_the_stock",
    "test_the_health_probes_say_the_shop_is_alive_and_its_database_ready",
    "test_unknown_products_orders_and_payments_answer_404_problems",
]
