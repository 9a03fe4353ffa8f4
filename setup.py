"""The optional compiled scanner; everything else is declared in pyproject.toml.

`optional=True`: without a C compiler (or the Python headers) the build warns and goes on, and
drkit.binlog.scan runs its pure-Python walk.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("drkit.binlog._scanner", ["drkit/binlog/_scanner.c"], optional=True),
    ]
)
