"""Adapters: the ports implemented over Kafka, SQL, files and memory."""
