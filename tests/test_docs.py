"""The repository explains itself: its documents name files and functions that exist, and link only inside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", "docs/architecture.md", "docs/specification.md", "bench/README.md"]
# `path/to/file.py`: `name`, `Class.attribute` ... (the names up to the end of the table cell or a semicolon)
NAMED = re.compile(r"`([\w/]+\.py)`:? ((?:`[\w.]+`(?:, )?)+)")


def defined_names(path: Path) -> set[str]:
    """Top-level names of a module, and ``Class.member`` for the members of its classes."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{member.name}")
                for target in member.targets if isinstance(member, ast.Assign) else []:
                    if isinstance(target, ast.Name):
                        names.add(f"{node.name}.{target.id}")
                if isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                    names.add(f"{node.name}.{member.target.id}")
        for target in node.targets if isinstance(node, ast.Assign) else []:
            if isinstance(target, ast.Name):
                names.add(target.id)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_function_the_architecture_names_exists_where_it_says():
    text = (ROOT / "docs/architecture.md").read_text()
    missing = []
    checked = 0
    for path, names in NAMED.findall(text):
        module = ROOT / path
        if not module.exists():
            missing.append(path)
            continue
        defined = defined_names(module)
        for name in re.findall(r"`([\w.]+)`", names):
            checked += 1
            if name not in defined:
                missing.append(f"{path}: {name}")
    assert checked > 30
    assert missing == []


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documents_link_only_to_files_in_the_repository(document):
    path = ROOT / document
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text())
    outside = [link for link in links if not link.startswith(("http://", "https://", "mailto:"))]
    broken = [link for link in outside if not (path.parent / link).resolve().is_relative_to(ROOT)]
    missing = [link for link in outside if not (path.parent / link).resolve().exists()]
    assert broken == []
    assert missing == []
    assert "../shared" not in path.read_text()


def test_every_file_the_architecture_names_exists():
    text = (ROOT / "docs/architecture.md").read_text()
    paths = set(re.findall(r"`((?:[\w]+/)+[\w.]+\.(?:py|md|toml))`", text))
    assert len(paths) > 20
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []
