"""The SFT-stage methods: one module per method, found and registered on import (curiosft.methods.registry).

    from curiosft.methods import method_class, method_names, build_method

Every module of this package other than the support modules (`base`, `registry`; `logits_method`, the base of
methods whose loss reads the full logits; `verl_batch`, verl's micro-batch layout and the loss bridge;
`teacher`, the teacher / reference copy of CurioSFT and ASFT) is a method module (see base.py for what
it declares); to add a method, add its module here and its option file conf/method/<name>.yaml. A method
kept outside the package (e.g. with a wheel install) is a module named in $CURIOSFT_METHODS (comma-
separated, importable from the job's Python path) plus its option file in a $CURIOSFT_CONF_PATH folder.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from curiosft.methods.base import Method, MethodConfig
from curiosft.methods.registry import (
    build_method,
    method_class,
    method_names,
    method_schemas,
    register_method,
    unregister_method,
    uses_teacher,
)

METHODS_ENV = "CURIOSFT_METHODS"
# not method modules (and the last two import torch: the config schema imports this package)
SUPPORT_MODULES = ("base", "registry", "logits_method", "verl_batch", "teacher")

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in SUPPORT_MODULES:
        importlib.import_module(f"{__name__}.{_module}")
for _module in filter(None, (m.strip() for m in os.environ.get(METHODS_ENV, "").split(","))):
    try:
        importlib.import_module(_module)
    except ImportError as exc:
        from curiosft.errors import ConfigError

        raise ConfigError(f"{METHODS_ENV} names {_module!r}, which cannot be imported ({exc}); put its folder on "
                          "PYTHONPATH or fix the variable") from exc

__all__ = ["METHODS_ENV", "Method", "MethodConfig", "build_method", "method_class", "method_names", "method_schemas",
           "register_method", "unregister_method", "uses_teacher"]
