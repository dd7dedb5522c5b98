"""Every relative link in README.md and docs/*.md leads somewhere: the file exists and, for
`file.md#anchor`, the anchor is one of its headings (as GitHub makes them)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from inference.paths import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r'\]\(([^)\s]+)\)|src="([^"]+)"')
EXTERNAL = re.compile(r"^(https?:|mailto:)")


def without_code(markdown: str) -> str:
    """Links in code blocks and spans are examples, not links."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", markdown, flags=re.S))


def anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def relative_links(document: Path) -> list[str]:
    found = (next(filter(None, groups)) for groups in LINK.findall(without_code(document.read_text())))
    return [link for link in found if not EXTERNAL.match(link)]


def broken_links(document: Path) -> list[str]:
    broken = []
    for link in relative_links(document):
        path, _, anchor = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.exists() or (anchor and target.suffix == ".md" and anchor not in anchors(target.read_text())):
            broken.append(link)
    return broken


def test_the_readme_links_to_the_docs():
    assert {"docs/models.md", "docs/api.md", "docs/serving.md", "docs/development.md"} <= set(
        relative_links(REPO_ROOT / "README.md"))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_every_relative_link_resolves(document):
    assert broken_links(document) == []


def test_a_missing_file_or_anchor_is_caught_and_code_is_not_read(tmp_path):
    (tmp_path / "a.md").write_text("# A title\n\n[ok](a.md#a-title) [gone](missing.md) [bad](a.md#nowhere)\n"
                                   "`[example](nowhere.md)`\n")
    assert broken_links(tmp_path / "a.md") == ["missing.md", "a.md#nowhere"]
