"""The system check: `manage.py check` (and every management command) fails with one line
per problem of INVENTORY_SYNC, naming the setting and the field."""

from __future__ import annotations

from typing import Any

from inventory_sync.contrib.django.conf import configuration, validation_problems
from inventory_sync.contrib.django.problems import Problem


def check_configuration(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from django.conf import settings
    from django.core import checks

    config = configuration()
    problems = [*config.problems, *validation_problems(config)]
    if config.values.get("updated_at_column") and not settings.USE_TZ:
        problems.append(
            Problem(
                2,
                "USE_TZ = False: inventory-sync writes the time of a change in UTC, which "
                "Django then reads as local time; set USE_TZ = True",
                warning=True,
            )
        )
    return [
        (checks.Warning if problem.warning else checks.Error)(
            problem.message, obj=problem.obj, id=problem.id
        )
        for problem in problems
    ]
