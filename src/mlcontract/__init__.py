"""mlcontract: declarative ML validation contracts, compiled to a plan and run as a CI gate.

    import mlcontract
    result = mlcontract.check("contracts/churn.mlc")
    if not result.passed: ...

Heavy libraries (polars, scipy, scikit-learn) load only when a contract needs them.
"""
from __future__ import annotations

from .errors import CheckError, ContractError, MlcError, ParseError, UsageError

__version__ = "0.1.0"
__all__ = ["compile", "check", "profile", "merge_profiles", "Contract", "ContractError", "ParseError", "CheckError",
           "UsageError", "MlcError"]


def compile(source, **kwargs):
    """Compile a contract (a path or its text); see mlcontract.api.compile."""
    from .api import compile as _compile

    return _compile(source, **kwargs)


def check(source, **kwargs):
    """Compile and run a contract; see mlcontract.api.check."""
    from .api import check as _check

    return _check(source, **kwargs)


def profile(data, output=None, **kwargs):
    """Profile a dataset for `dataset x = profile("...")`; see mlcontract.api.profile."""
    from .api import profile as _profile

    return _profile(data, output, **kwargs)


def merge_profiles(paths, output=None):
    """Merge profiles of parts of one dataset; see mlcontract.api.merge_profiles."""
    from .api import merge_profiles as _merge

    return _merge(paths, output)


def __getattr__(name):
    if name == "Contract":
        from .api import Contract

        return Contract
    raise AttributeError(name)
