"""Packaging beyond pyproject.toml: the bundled skills and default settings become package data.

The repository keeps them where a reader looks for them (`skills/`, `config/`); the wheel
carries them as `assistant.bundled_skills` and `assistant.defaults` (see `assistant.bundled`).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "assistant.bundled_skills", "assistant.defaults"],
    package_dir={"": "src", "assistant.bundled_skills": "skills", "assistant.defaults": "config"},
    package_data={
        "assistant": ["py.typed", "skills/schemas/*.json", "nlu/data/*.txt", "stt/*.json", "web/static/*"],
        "assistant.bundled_skills": ["**/*.json", "**/*.py", "**/*.md"],
        "assistant.defaults": ["*.toml"],
    },
    exclude_package_data={"assistant.bundled_skills": ["**/__pycache__/*"]},
)
