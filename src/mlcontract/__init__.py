"""mlcontract: declarative ML validation contracts, compiled to a plan and run as a CI gate.

    import mlcontract
    result = mlcontract.check("contracts/churn.mlc")
    if not result.passed: ...

Heavy libraries (polars, scipy, scikit-learn) load only when a contract needs them.
"""
from __future__ import annotations

from .errors import CheckError, ContractError, MlcError, ParseError, UsageError

__version__ = "0.1.0"
__all__ = ["compile", "check", "Contract", "ContractError", "ParseError", "CheckError", "UsageError", "MlcError"]


def compile(source, **kwargs):
    """Compile a contract (a path or its text); see mlcontract.api.compile."""
    from .api import compile as _compile

    return _compile(source, **kwargs)


def check(source, **kwargs):
    """Compile and run a contract; see mlcontract.api.check."""
    from .api import check as _check

    return _check(source, **kwargs)


def __getattr__(name):
    if name == "Contract":
        from .api import Contract

        return Contract
    raise AttributeError(name)
