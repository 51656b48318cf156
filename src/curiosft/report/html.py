"""Each Markdown table also as a standalone HTML page (python-markdown's `tables` extension): what
`snakemake --report` embeds and a browser opens (the report shows HTML, images and PDFs, not Markdown)."""

from __future__ import annotations

from pathlib import Path

import markdown

from curiosft.io import atomic_path

STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.8em 0}th,td{padding:0.3em 0.7em;border-bottom:1px solid #ccc}
th{border-bottom:2px solid #444;text-align:right}td{text-align:right}td:first-child,th:first-child{text-align:left}
p{max-width:70em}"""


def markdown_to_html(text: str, title: str) -> str:
    body = markdown.markdown(text, extensions=["tables"])
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style>"
            f"</head><body>\n{body}\n</body></html>\n")


def write_html_beside(markdown_files: list[Path]) -> list[Path]:
    """<name>.html beside every <name>.md; returns the written paths."""
    written = []
    for md in markdown_files:
        path = md.with_suffix(".html")
        with atomic_path(path) as tmp:
            tmp.write_text(markdown_to_html(md.read_text(), md.stem.replace("_", " ")))
        written.append(path)
    return written
