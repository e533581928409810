"""Build the Cython kernels and ship the grammar, and the parser tables made from it, inside the package.

The grammar lives at the repository root (grammar/mlcontract.lark) so that it is the one
grammar everybody edits; build_py copies it next to the parser module and generates the parser's
LALR tables from it (src/mlcontract/language/parser_tables.py, Python literals: building them
at every start-up would cost ~0.1 s). `python setup.py parser_tables` regenerates the copy in
the source tree after an edit of the grammar (tests/language/test_parser_tables.py fails until
then; mlcontract ignores tables made from another grammar). A failed Cython build fails the
install: there is no pure-Python fallback that could silently hide it.
"""
import shutil
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Command, Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
GRAMMAR = ROOT / "grammar" / "mlcontract.lark"


def write_parser_tables(package: Path) -> None:
    """Generate mlcontract/language/parser_tables.py under `package`'s folder from the grammar,
    with the parse module of this checkout (it needs Lark: a build requirement)."""
    sys.path.insert(0, str(ROOT / "src"))
    try:
        from mlcontract.language.parse import write_tables
    finally:
        sys.path.pop(0)
    write_tables(package / "language" / "parser_tables.py", GRAMMAR.read_text(encoding="utf-8"))


class BuildPyWithGrammar(build_py):
    def run(self):
        super().run()
        package = Path(self.build_lib) / "mlcontract"
        package.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(GRAMMAR, package / "mlcontract.lark")
        write_parser_tables(package)  # from the grammar shipped beside it, whatever the checkout's copy says


class ParserTables(Command):
    """`python setup.py parser_tables`: regenerate src/mlcontract/language/parser_tables.py."""

    description = "generate the parser tables of src/mlcontract from grammar/mlcontract.lark"
    user_options: list = []

    def initialize_options(self):
        pass

    def finalize_options(self):
        pass

    def run(self):
        write_parser_tables(ROOT / "src" / "mlcontract")


extensions = [
    Extension(
        "mlcontract._kernels",
        ["ext/_kernels.pyx"],
        include_dirs=[numpy.get_include(), "ext"],  # ext/kernels.h: the C the kernels call
        depends=["ext/kernels.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    cmdclass={"build_py": BuildPyWithGrammar, "parser_tables": ParserTables},
)
