"""`skops("models/model.skops", trusted="...")`: a scikit-learn model saved with skops, loaded
safely: skops constructs only the types it trusts. Types of the safe modules
(`SAFE_SKOPS_MODULES`, outside their testing and build helpers) may be trusted by the contract
with `trusted=`; any other type also needs the invocation's consent (`--allow-pickle`)."""
from __future__ import annotations

from .base import TYPE_NAMES, SourceKind

# skops types a contract may trust without `--allow-pickle`: those of these modules ...
SAFE_SKOPS_MODULES = ("sklearn", "numpy", "scipy")
# ... except their testing, build and foreign-code helpers (they run code or load libraries).
UNSAFE_SKOPS_PARTS = frozenset({"testing", "_testing", "tests", "conftest", "_pytesttester", "distutils", "f2py",
                                "ctypeslib", "_build_utils"})


def unsafe_skops_types(types) -> list[str]:
    """The type names that are not of a safe module (SAFE_SKOPS_MODULES, outside their testing
    and build helpers): trusting them needs `--allow-pickle`."""
    unsafe = []
    for name in types:
        parts = str(name).split(".")
        safe = len(parts) > 1 and parts[0] in SAFE_SKOPS_MODULES and not (set(parts[1:-1]) & UNSAFE_SKOPS_PARTS) \
            and all(part.isidentifier() for part in parts)
        if not safe:
            unsafe.append(str(name))
    return unsafe


def recognise(path, head: bytes) -> str | None:
    """A skops file is a zip archive holding `schema.json`."""
    if not head.startswith(b"PK\x03\x04"):
        return None
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return "a skops model" if "schema.json" in archive.namelist() else None
    except (OSError, zipfile.BadZipFile, ValueError):
        return None


def load(source, grants):
    from ..errors import ModelError
    from ..escape import printable
    from ..grants import PICKLE_GRANT
    from ..models.loaded import wrap_object
    from .files import model_file

    path = model_file(source.name, source.location, "skops")
    try:
        import skops.io as sio
    except ImportError as error:
        raise ModelError("skops models need the skops package: pip install 'mlcontract[skops]'") from error
    trusted_text = dict(source.options).get("trusted", "")
    trusted = [t.strip() for t in str(trusted_text).split(",") if t.strip()]
    unsafe = unsafe_skops_types(trusted)
    if unsafe and not grants.pickle:
        raise ModelError(
            f"model `{source.name}`: trusted= names types outside the safe modules ({', '.join(SAFE_SKOPS_MODULES)}): "
            f"{printable(', '.join(unsafe))}; loading them can run any code, so only the invocation can consent: "
            f"{PICKLE_GRANT}")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in trusted]
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot read {printable(path.name)}: {printable(error)}") from error
    if untrusted:
        listed = printable(",".join(untrusted))
        consent = "" if grants.pickle or not unsafe_skops_types(untrusted) else \
            f" (types outside the safe modules also need {PICKLE_GRANT})"
        raise ModelError(
            f"model `{source.name}`: {printable(path.name)} contains types that are not trusted: "
            f"{printable(', '.join(untrusted))}; if you trust them, list them: "
            f"skops(\"{printable(path.name)}\", trusted=\"{listed}\"){consent}"
        )
    try:
        obj = sio.load(path, trusted=trusted or None)
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot load {printable(path.name)}: {type(error).__name__}: "
                         f"{printable(error)}") from error
    return wrap_object(source.name, obj)


KINDS = (
    SourceKind("skops", "model", summary="a scikit-learn model saved with skops, loaded safely (trusted= lists types)",
               example="models/model.skops", options={"trusted": TYPE_NAMES}, rank=20, load=load,
               recognise=recognise, file_type="a skops"),
)
