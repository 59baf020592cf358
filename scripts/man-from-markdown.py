#!/usr/bin/env python3
"""A man page (man(7) macros) from one of raqam's Markdown docs.

    scripts/man-from-markdown.py DOC.md NAME SECTION DATE VERSION "one-line summary" [SEE ALSO...]

Knows the Markdown the docs use: a `#` title (dropped: NAME replaces it), `##` headings,
paragraphs, fenced code, `-` lists and tables (each row becomes a tagged paragraph: the first
cell the tag, the other non-empty cells, headed by their column names, the text). Inline code
and bold become bold, links keep their text. Output on stdout; `man -l` renders it without
warnings (checked by the tests).
"""
import os
import re
import sys


def escape(text):
    """Text for roff: backslashes doubled, hyphens kept as hyphens."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def inline(text):
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    parts = re.split(r"(`[^`]+`|\*\*[^*]+\*\*)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("\\fB" + escape(part[1:-1]) + "\\fR")
        elif part.startswith("**") and part.endswith("**"):
            out.append("\\fB" + escape(part[2:-2]) + "\\fR")
        else:
            out.append(escape(part))
    return "".join(out)


def line_safe(text):
    """A text line must not begin with a control character."""
    return "\\&" + text if text[:1] in (".", "'") else text


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def convert(markdown, name, section, date, version, summary, see_also):
    out = [
        f'.TH "{name.upper()}" "{section}" "{date}" "raqam {version}" "raqam"',
        ".SH NAME",
        f"{escape(name)} \\- {escape(summary)}",
    ]
    lines = markdown.splitlines()
    i = 0
    started = False
    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            out.append(".SH DESCRIPTION")
            started = True
            i += 1
        elif line.startswith("## "):
            out.append(".SH " + escape(line[3:].strip().upper()))
            i += 1
        elif line.startswith("```"):
            i += 1
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_safe(escape(lines[i])) if lines[i] else "")
                i += 1
            out.append(".RE")
            out.append(".fi")
            i += 1
        elif line.startswith("|"):
            header = cells(line)
            i += 2  # the header and its |---| line
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                out.append(".TP")
                out.append(line_safe(inline(row[0])))
                notes = [f"{header[k]}: {row[k]}" for k in range(1, len(row) - 1) if row[k]]
                body = inline(row[-1])
                if notes:
                    body = "(" + inline("; ".join(notes)) + ") " + body
                out.append(line_safe(body))
                i += 1
        elif line.startswith("- "):
            item = [line[2:].strip()]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out.append(".IP \\(bu 2")
            out.append(line_safe(inline(" ".join(item))))
        elif not line.strip():
            i += 1
        else:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "```", "- ")):
                paragraph.append(lines[i].strip())
                i += 1
            if not started:
                out.append(".SH DESCRIPTION")
                started = True
            out.append(".PP")
            out.append(line_safe(inline(" ".join(paragraph))))
    if see_also:
        out.append(".SH SEE ALSO")
        out.append(",\n".join("\\fB" + escape(p.split("(")[0]) + "\\fR(" + p.split("(")[1] for p in see_also))
    docdir = os.environ.get("RAQAM_DOCDIR", "/usr/share/doc/raqam")
    out.append(".PP")
    out.append("The documents named above (\\fIrules.md\\fR and the others) are in \\fI" + escape(docdir) + "\\fR.")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    doc, name, section, date, version, summary, *see_also = sys.argv[1:]
    with open(doc, encoding="utf-8") as f:
        sys.stdout.write(convert(f.read(), name, section, date, version, summary, see_also))


if __name__ == "__main__":
    main()
