"""Packaging promises: a light import and a curated public API."""

from __future__ import annotations

import subprocess
import sys

import leadrouter as lr

HEAVY = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "hypothesis", "pytest")


def test_import_loads_only_attrs_and_stdlib() -> None:
    code = "import sys, leadrouter; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY)
    assert heavy == [], f"import leadrouter pulled in {heavy}"


def test_public_names_are_exported() -> None:
    for name in (
        "Lead",
        "Rep",
        "Decision",
        "Ledger",
        "Router",
        "Lifecycle",
        "EqualRotation",
        "FixedCap",
        "Arrived",
        "Assigned",
        "Claimed",
        "Touched",
        "Tagged",
        "Converted",
        "Released",
        "TransitionError",
        "DuplicateLeadError",
    ):
        assert name in lr.__all__
        assert hasattr(lr, name)


def test_every_exported_name_has_a_docstring() -> None:
    missing = [
        name
        for name in lr.__all__
        if not name.startswith("_")
        and name != "PUBLIC"
        and name != "Event"
        and not (getattr(lr, name).__doc__ or "").strip()
    ]
    assert missing == []


def test_py_typed_is_shipped() -> None:
    from importlib.resources import files

    assert files("leadrouter").joinpath("py.typed").is_file()


def test_every_error_class_is_re_exported_from_leadrouter() -> None:
    """docs/errors.md: every class is in leadrouter.errors and re-exported from leadrouter, so
    `except lr.InvalidTypeError` works wherever the docs say it is raised."""
    for name in lr.errors.__all__:
        assert name in lr.__all__ and getattr(lr, name) is getattr(lr.errors, name), name
