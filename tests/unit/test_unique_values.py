"""How the store names a taken unique value (store/repositories/_common.py): by the constraint
PostgreSQL reports or the columns SQLite reports, and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from paysim.domain.duplicates import DuplicateEmail, MerchantNameTaken
from paysim.store.repositories._common import unique_values
from paysim.store.repositories.merchants import EMAIL_TAKEN, NAME_TAKEN


def _violation(message: str) -> sa_exc.IntegrityError:
    return sa_exc.IntegrityError("INSERT …", {}, Exception(message))


@pytest.mark.parametrize(
    "message",
    [
        'duplicate key value violates unique constraint "uq_users_email"',  # PostgreSQL
        "UNIQUE constraint failed: users.email",  # SQLite
    ],
)
def test_a_taken_email_is_duplicate_email_on_either_database(message: str) -> None:
    with pytest.raises(DuplicateEmail), unique_values(NAME_TAKEN, EMAIL_TAKEN):
        raise _violation(message)


def test_the_first_rule_that_names_the_violation_wins() -> None:
    with pytest.raises(MerchantNameTaken), unique_values(NAME_TAKEN, EMAIL_TAKEN):
        raise _violation("UNIQUE constraint failed: merchants.name_key")


def test_a_violation_no_rule_names_stays_what_it_was() -> None:
    with pytest.raises(sa_exc.IntegrityError), unique_values(NAME_TAKEN, EMAIL_TAKEN):
        raise _violation('insert or update on table "users" violates foreign key constraint "fk_users_merchant_id"')
