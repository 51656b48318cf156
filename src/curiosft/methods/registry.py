"""The method registry: Hydra `method` name -> Method class (as verl registers its policy losses)."""

from __future__ import annotations

from curiosft.errors import UnknownNameError
from curiosft.methods.base import Method, MethodConfig

_METHODS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: make `cls` the method `cls.name` (its config schema is `cls.config`)."""
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"{cls!r} is not a curiosft.methods.Method subclass")
    if not (isinstance(getattr(cls, "config", None), type) and issubclass(cls.config, MethodConfig)):
        raise TypeError(f"method {cls.__name__} needs `config`, a MethodConfig dataclass")
    if cls.__abstractmethods__:
        raise TypeError(f"method {cls.__name__} does not define {', '.join(sorted(cls.__abstractmethods__))}")
    if cls.config.name != cls.name:
        raise TypeError(f"method {cls.name!r}: its config's name default is {cls.config.name!r}")
    previous = _METHODS.get(cls.name)
    if previous is not None and previous.__qualname__ != cls.__qualname__:
        raise ValueError(f"method name {cls.name!r} is already registered by {previous.__module__}.{previous.__qualname__}")
    _METHODS[cls.name] = cls
    return cls


def unregister_method(name: str) -> None:
    """Remove a method (tests that register their own)."""
    _METHODS.pop(name, None)


def method_names() -> list[str]:
    """Every registered method, in table order (Method.order: sft, psft, curiosft, entropy_reg, dft)."""
    return sorted(_METHODS, key=lambda name: (_METHODS[name].order, name))


def method_class(name: str) -> type[Method]:
    try:
        return _METHODS[name]
    except KeyError:
        raise UnknownNameError(f"unknown method {name!r}; choose one of {', '.join(method_names())}") from None


def method_schemas() -> dict[str, type[MethodConfig]]:
    """name -> config dataclass, what the Hydra config store registers under schema/method/<name>."""
    return {name: _METHODS[name].config for name in method_names()}


def uses_teacher(name: str) -> bool:
    return method_class(name).uses_teacher()


def build_method(method_cfg, schedule_cfg=None) -> Method:
    """The run's Method object from its composed `method` (and `schedule`) config sections."""
    return method_class(method_cfg.name)(method_cfg, schedule_cfg)
