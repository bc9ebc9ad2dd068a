"""Small HTML helpers for the site's tests (the standard library's parser, no extra packages)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    """One start tag with its attributes and the innermost enclosing ones."""

    tag: str
    attrs: dict[str, str]
    parents: list[Element] = field(default_factory=list, repr=False)

    def closest(self, tag: str) -> Element | None:
        """The nearest enclosing element with this tag."""
        return next((p for p in reversed(self.parents) if p.tag == tag), None)


VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Collector(HTMLParser):
    """Every element in document order, with its ancestors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        self.elements.append(element)
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, list(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parse(html: str) -> Collector:
    """Parse a page."""
    collector = Collector()
    collector.feed(html)
    collector.close()
    return collector


def find(doc: Collector, tag: str, **attrs: str) -> list[Element]:
    """Elements with this tag whose attributes contain these values (class: one of its words)."""
    out = []
    for element in doc.elements:
        if element.tag != tag:
            continue
        ok = True
        for key, value in attrs.items():
            key = key.rstrip("_").replace("_", "-")
            have = element.attrs.get(key)
            if have is None or (value not in have.split() if key == "class" else have != value):
                ok = False
                break
        if ok:
            out.append(element)
    return out


def embedded_json(html: str, element_id: str) -> dict[str, object]:
    """The JSON data block with this id."""
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.DOTALL
    )
    assert match, f"no JSON block #{element_id}"
    return json.loads(match.group(1))  # type: ignore[no-any-return]
