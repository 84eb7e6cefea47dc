"""mypy plugin: tortoise's types say ``values_list(..., flat=True)`` gives tuples.

It gives the one column's values. The stubs cannot express that (the result depends on
the ``flat`` argument), so this plugin types such a call as ``Any``, in one place, instead
of a ``cast`` at every call. Loaded by ``[tool.mypy] plugins`` in pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import NameExpr
from mypy.plugin import MethodContext, Plugin
from mypy.types import AnyType, Type, TypeOfAny

_VALUES_LIST = {
    "tortoise.queryset.QuerySet.values_list",
    "tortoise.queryset.QuerySetSingle.values_list",
    "tortoise.queryset.AwaitableQuery.values_list",
}


def _flat_is_true(ctx: MethodContext) -> bool:
    for names, args in zip(ctx.arg_names, ctx.args, strict=True):
        for name, arg in zip(names, args, strict=True):
            if name == "flat":
                return isinstance(arg, NameExpr) and arg.fullname == "builtins.True"
    return False


def _values_list(ctx: MethodContext) -> Type:
    return AnyType(TypeOfAny.special_form) if _flat_is_true(ctx) else ctx.default_return_type


class TortoisePlugin(Plugin):
    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return _values_list if fullname in _VALUES_LIST else None


def plugin(version: str) -> type[Plugin]:
    return TortoisePlugin
