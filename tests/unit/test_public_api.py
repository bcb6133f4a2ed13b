from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import martlake
from martlake import errors


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(martlake).items()
        if not name.startswith("_") and not getattr(value, "__name__", "").startswith("martlake.")
    }
    assert set(martlake.__all__) == public
    assert martlake.__all__ == sorted(martlake.__all__)


def test_every_error_is_a_martlake_error_with_an_exit_code() -> None:
    classes = [
        v for v in vars(errors).values() if isinstance(v, type) and v.__module__ == errors.__name__
    ]
    assert len(classes) >= 12
    for cls in classes:
        assert issubclass(cls, errors.MartlakeError)
        assert cls.__name__.endswith("Error")
        assert cls.exit_code in (1, 2)
    assert errors.CheckFailedError.exit_code == 1
    assert not errors.AuthError.retryable and errors.RateLimitError.retryable


@pytest.mark.parametrize(
    "module",
    sorted(
        m.name
        for m in pkgutil.walk_packages(martlake.__path__, "martlake.")
        if ".sandbox" not in m.name and not m.name.endswith("__main__")
    ),
)
def test_docstring_examples_run(module: str) -> None:
    failures, _ = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failures == 0
