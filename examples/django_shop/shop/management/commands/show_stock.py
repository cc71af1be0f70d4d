"""`manage.py show_stock`: each product page as Django renders it, one stock line per product."""

import re

from django.core.management.base import BaseCommand
from django.test import Client
from django.test.utils import setup_test_environment

from shop.models import Product

STOCK = re.compile(r'<p class="stock stock--(\w+)">([^<]*)</p>')


class Command(BaseCommand):
    help = "Render each product page (Django's test client) and print its stock line."

    def handle(self, *args: object, **options: object) -> None:
        setup_test_environment()
        client = Client()
        for product in Product.objects.order_by("sku"):
            html = client.get(f"/products/{product.sku}/").content.decode()
            found = STOCK.search(html)
            level, message = found.groups() if found else ("?", "no stock line on the page")
            self.stdout.write(
                f"{product.sku:<9} {product.stock:>4}  {message:<22} (stock--{level})"
            )
