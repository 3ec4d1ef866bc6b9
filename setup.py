"""What pyproject.toml cannot say: the shipped protocols (with their published rows) and bundles are top-level
folders of the checkout, where contributors edit them; a wheel carries them as package data under
`harness/_shipped/<folder>`, where harness.paths.builtin_dir finds them in an installed (non-editable) copy."""
from setuptools import find_packages, setup

SHIPPED = ("protocols", "baselines", "submissions")

setup(
    packages=[*find_packages(include=["harness", "harness.*"]), *(f"harness._shipped.{d}" for d in SHIPPED)],
    package_dir={f"harness._shipped.{d}": d for d in SHIPPED},
    package_data={"harness": ["**/*.yaml", "**/*.md"], **{f"harness._shipped.{d}": ["**/*"] for d in SHIPPED}},
    exclude_package_data={"": ["**/__pycache__/*", "**/*.pyc"]},
)
