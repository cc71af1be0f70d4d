"""The pure core of inventory-sync: model, rules, ports and the batch use case."""
