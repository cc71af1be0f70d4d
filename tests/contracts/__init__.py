"""One contract suite per port, run against every implementation of it.

Each module holds a contract class whose tests use only the port; each implementation gets a
thin subclass (the fakes and the file adapters in tests/unit, the real services in
tests/integration) that provides the fixture the contract asks for. So a fake that drifts
from the real adapters fails the same tests they pass.
"""
