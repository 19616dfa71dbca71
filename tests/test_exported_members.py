"""rxpro's public names: everything in ``rxpro.__all__`` resolves, and every public error is in it."""

from __future__ import annotations

import inspect

import rxpro
from rxpro import _errors


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert rxpro.__all__ == sorted(rxpro.__all__)
    for name in rxpro.__all__:
        assert getattr(rxpro, name) is not None, name


def test_every_exception_of_the_errors_module_is_exported_from_rxpro() -> None:
    defined = {
        name for name, value in vars(_errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == _errors.__name__
    }
    assert defined == set(_errors.__all__)
    assert defined <= set(rxpro.__all__)
    for name in defined:
        assert getattr(rxpro, name) is getattr(_errors, name)


def test_the_errors_docstring_draws_every_class_of_the_tree() -> None:
    tree = _errors.__doc__ or ""
    for name in _errors.__all__:
        assert name in tree, name
