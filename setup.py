"""Build the Cython kernels and ship the grammar inside the package.

The grammar lives at the repository root (grammar/mlcontract.lark) so that it is the one
grammar everybody edits; build_py copies it next to the parser module. A failed Cython build
fails the install: there is no pure-Python fallback that could silently hide it.
"""
import shutil
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


class BuildPyWithGrammar(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "mlcontract" / "mlcontract.lark"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "grammar" / "mlcontract.lark", target)


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
    cmdclass={"build_py": BuildPyWithGrammar},
)
