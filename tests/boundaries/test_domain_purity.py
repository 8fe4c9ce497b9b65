"""A service's ``domain`` is pure rules: no broker, database, HTTP or adapters, directly or not.

import-linter cannot express this for modules that do not exist yet, so this test covers every
service's ``domain`` (module or package) as it appears. ``make lint`` enforces the static contracts.
"""

import importlib.util

import grimp
import pytest

from tt_contracts import SERVICES

PACKAGES = ["tt_" + s.replace("-", "_") for s in SERVICES]
FORBIDDEN = ("faststream", "nats", "sqlalchemy", "psycopg", "httpx", "fastapi", "tt_runtime")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, "tt_runtime", "tt_contracts", include_external_packages=True)


def _domains() -> list[str]:
    return [f"{p}.domain" for p in PACKAGES if importlib.util.find_spec(f"{p}.domain") is not None]


def test_domain_modules_import_no_infrastructure(graph):
    for domain in _domains():
        modules = {domain} | {m for m in graph.modules if m.startswith(domain + ".")}
        for module in modules:
            for target in (*FORBIDDEN, domain.rsplit(".", 1)[0] + ".adapters"):
                chain = graph.find_shortest_chain(importer=module, imported=target)
                assert chain is None, f"{module} reaches {target} via {' -> '.join(chain)}"


def test_the_check_can_fail(graph):
    """The same query finds a chain where one exists (a service app reaches faststream)."""
    assert graph.find_shortest_chain(importer="tt_billing.app", imported="faststream") is not None
