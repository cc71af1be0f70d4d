"""inventory-sync for Django shops: add "inventory_sync.contrib.django" to INSTALLED_APPS.

Settings come from one INVENTORY_SYNC dict (the names of inventory_sync.Settings, plus
"model", "code_field", "count_field", "updated_at_field", "name_field" and "database"), the
database from DATABASES, the table and columns from the model's meta. `manage.py
inventory_sync ...` is the inventory-sync command line with those settings; the template
library `inventory_sync` and `stock.stock_status(product)` read stock from a model instance.
Importing this package imports nothing of Django's.
"""
