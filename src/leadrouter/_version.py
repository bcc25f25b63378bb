"""The package's version, in a module of its own so that parts below the package root (the
stored snapshots' format check) can read it without importing everything."""

__version__ = "0.1.0"
