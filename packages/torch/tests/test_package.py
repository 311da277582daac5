"""The package metadata: a torch range that admits Debian's 1.13 build and current releases."""

import tomllib

import torch
from conftest import PACKAGE
from packaging.requirements import Requirement
from packaging.version import Version


def test_declared_torch_range_includes_this_torch_and_current_releases():
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    assert project["name"] == "elementwise-torch"
    torch_requirement = next(Requirement(r) for r in project["dependencies"] if r.startswith("torch"))
    installed = Version(torch.__version__.split("+")[0])
    for version in (installed, Version("1.13.1"), Version("2.5.1"), Version("2.9.0")):
        assert torch_requirement.specifier.contains(version, prereleases=True), f"{version} not in {torch_requirement}"
    assert not torch_requirement.specifier.contains(Version("1.12.1"))
