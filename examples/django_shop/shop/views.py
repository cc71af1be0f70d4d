from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from shop.models import Product


def product_list(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/product_list.html", {"products": Product.objects.order_by("sku")})


def product_detail(request: HttpRequest, sku: str) -> HttpResponse:
    product = get_object_or_404(Product, sku=sku)
    return render(request, "shop/product.html", {"product": product})
