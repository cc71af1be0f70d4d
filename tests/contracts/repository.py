"""The ProductRepository and UnitOfWork contract: every implementation keeps these promises.

Subclasses provide `uow`, an empty product catalogue behind one implementation: the in-memory
fake with the unit tests, SQLite and PostgreSQL with the integration tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from inventory_sync.domain.errors import StorageRejected
from inventory_sync.domain.model import Product, StockChange
from inventory_sync.domain.ports import ApplyResult, UnitOfWork

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def given(uow: UnitOfWork, *products: Product) -> None:
    with uow:
        uow.products.add(list(products))
        uow.commit()


def apply(uow: UnitOfWork, *changes: StockChange) -> ApplyResult:
    with uow:
        result = uow.products.apply(list(changes))
        uow.commit()
    return result


def stored(uow: UnitOfWork, code: str) -> Product | None:
    with uow:
        return uow.products.get(code)


class RepositoryContract:
    """The tests every ProductRepository / UnitOfWork pair passes."""

    @pytest.fixture
    def uow(self) -> Iterator[UnitOfWork]:
        """An empty product catalogue behind the implementation under test."""
        raise NotImplementedError("a subclass provides the unit of work under test")

    def test_added_products_can_be_got_and_are_listed_by_code(self, uow: UnitOfWork) -> None:
        given(uow, Product("B-2", "Bolt", 7), Product("A-1", "Anchor", 3, T0))

        assert stored(uow, "A-1") == Product("A-1", "Anchor", 3, T0)
        assert stored(uow, "missing") is None
        with uow:
            assert uow.products.list() == [
                Product("A-1", "Anchor", 3, T0),
                Product("B-2", "Bolt", 7),
            ]

    def test_adding_an_existing_code_leaves_the_stored_product_as_it_is(
        self, uow: UnitOfWork
    ) -> None:
        given(uow, Product("A-1", "Anchor", 3))

        given(
            uow, Product("A-1", "Other name", 99), Product("B-2", "Bolt"), Product("B-2", "Twice")
        )

        with uow:
            assert uow.products.list() == [Product("A-1", "Anchor", 3), Product("B-2", "Bolt", 0)]

    def test_known_codes_answers_for_tens_of_thousands_of_codes_in_one_call(
        self, uow: UnitOfWork
    ) -> None:
        given(uow, *(Product(f"P-{n}", f"Product {n}") for n in range(0, 45_000, 2)))
        asked = [f"P-{n}" for n in range(45_000)] + ["P-0"]

        with uow:
            known = uow.products.known_codes(asked)

        assert known == {f"P-{n}" for n in range(0, 45_000, 2)}

    def test_known_codes_of_no_codes_is_empty(self, uow: UnitOfWork) -> None:
        with uow:
            assert uow.products.known_codes([]) == set()

    def test_apply_reports_which_products_were_applied_stale_and_unknown(
        self, uow: UnitOfWork
    ) -> None:
        given(uow, Product("NEW", "n", 1, T0), Product("OLD", "o", 1, T0 + timedelta(hours=1)))

        result = apply(
            uow,
            StockChange("NEW", 5, T0 + timedelta(minutes=30)),
            StockChange("OLD", 5, T0 + timedelta(minutes=30)),
            StockChange("GHOST", 5, T0),
        )

        assert result == ApplyResult(frozenset({"NEW"}), frozenset({"OLD"}), frozenset({"GHOST"}))
        assert stored(uow, "NEW") == Product("NEW", "n", 5, T0 + timedelta(minutes=30))
        assert stored(uow, "OLD") == Product("OLD", "o", 1, T0 + timedelta(hours=1))
        assert stored(uow, "GHOST") is None

    def test_applying_nothing_reports_nothing(self, uow: UnitOfWork) -> None:
        assert apply(uow) == ApplyResult()

    def test_an_older_update_never_overwrites_a_newer_count(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor"))
        apply(uow, StockChange("A-1", 8, T0))

        result = apply(uow, StockChange("A-1", 3, T0 - timedelta(microseconds=1)))

        assert result.stale == {"A-1"}
        assert stored(uow, "A-1") == Product("A-1", "Anchor", 8, T0)

    def test_an_update_as_old_as_the_stored_count_overwrites_it(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 8, T0))

        result = apply(uow, StockChange("A-1", 3, T0))

        assert result.applied == {"A-1"}
        assert stored(uow, "A-1") == Product("A-1", "Anchor", 3, T0)

    def test_a_product_without_an_update_time_takes_any_update(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 8))

        result = apply(uow, StockChange("A-1", 3, T0 - timedelta(days=3650)))

        assert result.applied == {"A-1"}
        assert stored(uow, "A-1") == Product("A-1", "Anchor", 3, T0 - timedelta(days=3650))

    def test_update_times_come_back_in_utc_to_the_microsecond(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor"))
        paris_summer = timezone(timedelta(hours=2))
        at = T0.astimezone(paris_summer) + timedelta(microseconds=123_456)

        apply(uow, StockChange("A-1", 3, at))

        product = stored(uow, "A-1")
        assert product is not None
        assert product.inventory_updated_at is not None
        assert product.inventory_updated_at == at
        assert product.inventory_updated_at.utcoffset() == timedelta(0)
        assert product.inventory_updated_at.tzinfo == UTC

    def test_times_in_other_offsets_compare_as_instants(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor"))
        apply(uow, StockChange("A-1", 8, T0))
        earlier_in_tokyo = (T0 - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=9)))

        assert apply(uow, StockChange("A-1", 3, earlier_in_tokyo)).stale == {"A-1"}

    def test_a_naive_update_time_is_refused(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor"))

        with uow, pytest.raises(ValueError, match="naive"):
            uow.products.apply([StockChange("A-1", 3, T0.replace(tzinfo=None))])

    def test_a_negative_count_is_refused_by_storage(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 8), Product("B-2", "Bolt", 8))

        with uow, pytest.raises(StorageRejected):
            uow.products.apply([StockChange("A-1", 3, T0), StockChange("B-2", -1, T0)])

        assert stored(uow, "A-1") == Product("A-1", "Anchor", 8)

    def test_a_product_with_a_negative_count_cannot_be_added(self, uow: UnitOfWork) -> None:
        with uow, pytest.raises(StorageRejected):
            uow.products.add([Product("A-1", "Anchor", 1), Product("B-2", "Bolt", -1)])

        with uow:
            assert uow.products.list() == []

    def test_nothing_is_kept_unless_the_unit_of_work_commits(self, uow: UnitOfWork) -> None:
        with uow:
            uow.products.add([Product("A-1", "Anchor")])
            assert uow.products.get("A-1") == Product("A-1", "Anchor")

        assert stored(uow, "A-1") is None

    def test_a_rolled_back_apply_leaves_the_count_as_it_was(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 8))

        with uow:
            assert uow.products.apply([StockChange("A-1", 3, T0)]).applied == {"A-1"}
            assert uow.products.get("A-1") == Product("A-1", "Anchor", 3, T0)

        assert stored(uow, "A-1") == Product("A-1", "Anchor", 8)

    def test_an_error_inside_the_unit_of_work_rolls_it_back(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 8))

        def fail_after_applying() -> None:
            with uow:
                uow.products.apply([StockChange("A-1", 3, T0)])
                raise KeyError("boom")

        with pytest.raises(KeyError):
            fail_after_applying()

        assert stored(uow, "A-1") == Product("A-1", "Anchor", 8)

    def test_the_unit_of_work_can_be_entered_again_after_it_exits(self, uow: UnitOfWork) -> None:
        for count in range(3):
            with uow:
                uow.products.add([Product(f"P-{count}", "p")])
                uow.commit()

        with uow:
            assert [p.code for p in uow.products.list()] == ["P-0", "P-1", "P-2"]

    def test_what_follows_a_commit_is_rolled_back_unless_committed_again(
        self, uow: UnitOfWork
    ) -> None:
        with uow:
            uow.products.add([Product("A-1", "Anchor")])
            uow.commit()
            uow.products.add([Product("B-2", "Bolt")])

        with uow:
            assert [p.code for p in uow.products.list()] == ["A-1"]

    def test_products_outside_the_unit_of_work_raise(self, uow: UnitOfWork) -> None:
        with pytest.raises(RuntimeError, match="only inside"):
            uow.products.list()
        with uow:
            uow.products.add([Product("A-1", "Anchor")])
            uow.commit()

        with pytest.raises(RuntimeError, match="only inside"):
            uow.products.get("A-1")

    def test_entering_a_unit_of_work_twice_raises_and_leaves_the_first_entry_as_it_was(
        self, uow: UnitOfWork
    ) -> None:
        with uow:
            uow.products.add([Product("A-1", "Anchor")])
            with pytest.raises(RuntimeError, match="already entered"), uow:
                pass
            uow.products.add([Product("B-2", "Bolt")])
            uow.commit()

        with uow:
            assert [p.code for p in uow.products.list()] == ["A-1", "B-2"]

    # -- relative changes (inventory_delta) ------------------------------------------------

    def test_a_relative_change_adds_its_delta_and_moves_the_time_forward_only(
        self, uow: UnitOfWork
    ) -> None:
        given(uow, Product("A-1", "Anchor", 10, T0))

        earlier = apply(uow, StockChange.relative("A-1", [-2, -3], T0 - timedelta(hours=1)))
        later = apply(uow, StockChange.relative("A-1", [4], T0 + timedelta(hours=1)))

        assert earlier.applied == later.applied == {"A-1"}
        assert stored(uow, "A-1") == Product("A-1", "Anchor", 9, T0 + timedelta(hours=1))

    def test_a_relative_change_that_would_dip_below_zero_is_not_written(
        self, uow: UnitOfWork
    ) -> None:
        given(uow, Product("A-1", "Anchor", 3, T0), Product("B-2", "Bolt", 3, T0))

        result = apply(
            uow,
            StockChange.relative("A-1", [-4, 5], T0),  # ends at 4, but dips to -1 on the way
            StockChange.relative("B-2", [-3], T0),
            StockChange.relative("GHOST", [1], T0),
        )

        assert result == ApplyResult(
            applied=frozenset({"B-2"}),
            unknown=frozenset({"GHOST"}),
            negative=frozenset({"A-1"}),
        )
        assert stored(uow, "A-1") == Product("A-1", "Anchor", 3, T0)
        assert stored(uow, "B-2") == Product("B-2", "Bolt", 0, T0)

    def test_counts_and_deltas_go_in_one_statement(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 3, T0), Product("B-2", "Bolt", 3, T0))

        result = apply(
            uow,
            StockChange("A-1", 8, T0 - timedelta(seconds=1)),
            StockChange.relative("B-2", [2], T0 - timedelta(seconds=1)),
        )

        assert (result.applied, result.stale) == ({"B-2"}, {"A-1"})
        assert (stored(uow, "A-1"), stored(uow, "B-2")) == (
            Product("A-1", "Anchor", 3, T0),
            Product("B-2", "Bolt", 5, T0),
        )

    # -- the offset store ------------------------------------------------------------------

    def test_stored_positions_start_empty_and_advance_per_group_and_partition(
        self, uow: UnitOfWork
    ) -> None:
        wanted = [("t", 0), ("t", 1), ("u", 0)]
        with uow:
            assert uow.offsets.positions("g", wanted) == {}
            uow.offsets.advance("g", {("t", 0): 10, ("u", 0): 3})
            uow.offsets.advance("other", {("t", 0): 99})
            uow.commit()
        with uow:
            assert uow.offsets.positions("g", wanted) == {("t", 0): 10, ("u", 0): 3}
            uow.offsets.advance("g", {("t", 0): 4, ("t", 1): 1})  # a lower one is kept higher
            uow.commit()
        with uow:
            assert uow.offsets.positions("g", wanted) == {("t", 0): 10, ("t", 1): 1, ("u", 0): 3}
            assert uow.offsets.positions("other", wanted) == {("t", 0): 99}

    def test_positions_roll_back_with_the_writes(self, uow: UnitOfWork) -> None:
        given(uow, Product("A-1", "Anchor", 3))
        with uow:
            uow.offsets.positions("g", [("t", 0)])
            uow.products.apply([StockChange.relative("A-1", [1], T0)])
            uow.offsets.advance("g", {("t", 0): 5})  # no commit
        with uow:
            assert uow.offsets.positions("g", [("t", 0)]) == {}
            assert uow.products.get("A-1") == Product("A-1", "Anchor", 3)
