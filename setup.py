"""Build the compiled core: src_cython/*.pyx -> bpt._core.<module>.

OpenMP is used when the compiler accepts ``-fopenmp``; otherwise, or with the environment
variable ``BPT_NO_OPENMP=1``, the extensions are built serially (``prange`` then runs as a
plain loop).
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent.resolve()
SOURCE_DIR = HERE / "src_cython"
PACKAGE = "bpt._core"

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
}


def declarations_include_path():
    """An include path under which the src_cython/*.pxd are found by their package path.

    A relative ``cimport`` in src_cython resolves to ``bpt._core.<module>``, which Cython
    looks up as ``bpt/_core/<module>.pxd`` in its include path; copies of the declarations
    there (a namespace package, so no ``__init__.pxd`` is needed) keep the sources at the
    top level.
    """
    include_root = HERE / "build" / "cython_include"
    target = include_root.joinpath(*PACKAGE.split("."))
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for pxd in SOURCE_DIR.glob("*.pxd"):
        shutil.copyfile(pxd, target / pxd.name)
    return include_root


def compiler_supports_openmp(compiler):
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "check_openmp.c")
        with open(path, "w") as f:
            f.write(source)
        try:
            objects = compiler.compile([path], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, os.path.join(tmp, "check_openmp"),
                                     extra_postargs=["-fopenmp"])
        except Exception:
            return False
    return True


class BuildExtWithOpenMP(build_ext):
    def build_extensions(self):
        openmp = (os.environ.get("BPT_NO_OPENMP", "0") in ("", "0")
                  and sys.platform != "win32" and compiler_supports_openmp(self.compiler))
        if not openmp:
            print("bpt: building the core without OpenMP (serial)")
        for ext in self.extensions:
            ext.extra_compile_args = ["-O3"] + (["-fopenmp"] if openmp else [])
            ext.extra_link_args = ["-fopenmp"] if openmp else []
        super().build_extensions()


def extensions():
    modules = sorted(p.stem for p in SOURCE_DIR.glob("*.pyx"))
    exts = [
        Extension(
            f"{PACKAGE}.{name}",
            [str((SOURCE_DIR / f"{name}.pyx").relative_to(HERE))],
            include_dirs=[numpy.get_include(), str(SOURCE_DIR)],
            depends=[str(path.relative_to(HERE)) for path in SOURCE_DIR.glob("*.h")],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for name in modules
    ]
    return cythonize(exts, include_path=[str(declarations_include_path())],
                     compiler_directives=CYTHON_DIRECTIVES)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExtWithOpenMP})
