"""The SQLAlchemy URL inventory-sync builds from Django's DATABASES."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from django.test import override_settings

from inventory_sync.contrib.django.conf import configuration, inventory_settings
from inventory_sync.contrib.django.database import UnsupportedDatabase, database_url
from tests.django_project import SHOP, configure

configure()

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")
POSTGRES = "django.db.backends.postgresql"


def test_a_sqlite_database_is_its_file() -> None:
    url = database_url(
        "default", {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/db.sqlite3"}
    )

    assert url == "sqlite:////srv/db.sqlite3"


def test_a_sqlite_name_given_as_a_path_or_relative_stays_the_same_file() -> None:
    engine = "django.db.backends.sqlite3"

    assert database_url("default", {"ENGINE": engine, "NAME": Path("/srv/a b.db")}) == (
        "sqlite:////srv/a b.db"
    )
    assert database_url("default", {"ENGINE": engine, "NAME": "db.sqlite3"}) == (
        "sqlite:///db.sqlite3"
    )


def test_postgresql_takes_every_part_and_keeps_a_password_with_special_characters() -> None:
    entry = {
        "ENGINE": POSTGRES,
        "NAME": "shop",
        "USER": "shop user",
        "PASSWORD": "p@ss:w/rd%?#",
        "HOST": "db.internal",
        "PORT": "6432",
    }

    url = sa.make_url(database_url("default", entry))

    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "shop user",
        "p@ss:w/rd%?#",
        "db.internal",
        6432,
        "shop",
    )


def test_postgresql_without_user_host_or_port_leaves_them_to_libpq() -> None:
    url = database_url("default", {"ENGINE": POSTGRES, "NAME": "shop", "PORT": ""})

    assert url == "postgresql+psycopg:///shop"


def test_a_socket_directory_as_host_and_libpq_options_go_into_the_query() -> None:
    entry = {
        "ENGINE": POSTGRES,
        "NAME": "shop",
        "HOST": "/var/run/postgresql",
        "PORT": 5432,
        "OPTIONS": {"sslmode": "require", "connect_timeout": 5, "pool": True},
    }

    url = sa.make_url(database_url("default", entry))

    assert url.host is None
    assert dict(url.query) == {
        "host": "/var/run/postgresql",
        "sslmode": "require",
        "connect_timeout": "5",
    }


def test_the_legacy_and_postgis_engine_names_are_postgresql_too() -> None:
    for engine in (
        "django.db.backends.postgresql_psycopg2",
        "django.contrib.gis.db.backends.postgis",
    ):
        assert database_url("default", {"ENGINE": engine, "NAME": "shop"}).startswith(
            "postgresql+psycopg://"
        )


def test_another_database_is_refused_naming_the_setting() -> None:
    with pytest.raises(UnsupportedDatabase) as raised:
        database_url("replica", {"ENGINE": "django.db.backends.mysql", "NAME": "shop"})

    assert str(raised.value).startswith(
        "DATABASES['replica']['ENGINE'] = 'django.db.backends.mysql': inventory-sync works with "
        "SQLite and PostgreSQL"
    )


def test_a_port_that_is_no_number_is_refused_naming_the_setting() -> None:
    with pytest.raises(UnsupportedDatabase, match=r"DATABASES\['default'\]\['PORT'\] = 'five'"):
        database_url("default", {"ENGINE": POSTGRES, "NAME": "shop", "PORT": "five"})


DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/web.sqlite3"},
    "inventory": {"ENGINE": POSTGRES, "NAME": "stock", "USER": "worker", "HOST": "pg"},
}


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC=SHOP)
def test_the_default_alias_gives_the_database_url() -> None:
    assert inventory_settings().database_url == "sqlite:////srv/web.sqlite3"


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC={**SHOP, "database": "inventory"})
def test_the_database_setting_chooses_another_alias() -> None:
    assert inventory_settings().database_url == "postgresql+psycopg://worker@pg/stock"


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC={**SHOP, "database": "replica"})
def test_an_unknown_alias_is_a_problem_naming_the_setting_and_the_aliases() -> None:
    messages = [problem.message for problem in configuration().problems]

    assert messages == [
        "INVENTORY_SYNC['database'] = 'replica': no such alias in DATABASES (default, inventory)"
    ]


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC={**SHOP, "database_url": "sqlite:///x.db"})
def test_an_explicit_database_url_wins_over_databases() -> None:
    assert inventory_settings().database_url == "sqlite:///x.db"


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC=SHOP)
def test_the_environment_wins_over_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_DATABASE_URL", "sqlite:///from-env.db")

    assert inventory_settings().database_url == "sqlite:///from-env.db"


@override_settings(
    DATABASES={"default": {"ENGINE": "django.db.backends.mysql", "NAME": "shop"}},
    INVENTORY_SYNC=SHOP,
)
def test_an_unsupported_engine_is_no_problem_when_the_environment_names_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [p.number for p in configuration().problems] == [6]

    monkeypatch.setenv("INVENTORY_SYNC_DATABASE_URL", "sqlite:///from-env.db")

    assert configuration().problems == []
