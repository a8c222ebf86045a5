"""The api-docs test: builds the API reference with doxygen from the Doxyfile
meson made (docs/Doxyfile.in), which fails on any warning, an undocumented
public symbol among them. Doxygen 1.9.4 (Debian 12) says nothing of an
undocumented enum value, nor of a header without a file comment (whose
macros it then does not check), so this then reads doxygen's XML output and
fails on each enum value without a doc comment and each input header
without a `/// @file` comment.

Usage: api_docs_test.py DOXYFILE OUTPUT_DIRECTORY (the Doxyfile's: HTML in
api/, XML in xml/)"""
import pathlib
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def text(node):
    return "".join(node.itertext()).strip() if node is not None else ""


def undocumented_enum_values(xml_dir):
    """'file:line: ...' for each enum value without a doc comment, once each."""
    found = set()
    for path in sorted(pathlib.Path(xml_dir).glob("*.xml")):
        for enum in ET.parse(path).iter("memberdef"):
            if enum.get("kind") != "enum":
                continue
            where = enum.find("location")
            for value in enum.findall("enumvalue"):
                if text(value.find("briefdescription")) or text(value.find("detaileddescription")):
                    continue
                found.add(f"{where.get('file')}:{where.get('line')}: enum value "
                          f"{text(value.find('name'))} of {text(enum.find('qualifiedname'))} "
                          "is not documented.")
    return sorted(found)


def undocumented_files(doxyfile, xml_dir):
    """'path:1: ...' for each INPUT header without a file comment."""
    inputs = []
    for line in open(doxyfile, encoding="utf-8"):
        key, _, value = line.partition("=")
        if key.strip() == "INPUT":
            inputs = shlex.split(value)
    documented = {}  # doxygen's name of each file (bypass/core/batch.hpp): has a file comment
    for path in pathlib.Path(xml_dir).glob("*.xml"):
        for c in ET.parse(path).iter("compounddef"):
            if c.get("kind") == "file":
                documented[c.find("location").get("file")] = bool(
                    text(c.find("briefdescription")) or text(c.find("detaileddescription")))
    missing = []
    for header in inputs:
        names = [n for n in documented if header == n or header.endswith("/" + n)]
        if not any(documented[n] for n in names):
            missing.append(f"{header}:1: the header has no `/// @file` comment.")
    return missing


def main():
    doxyfile, out = sys.argv[1], pathlib.Path(sys.argv[2])
    doxygen = shutil.which("doxygen")
    if not doxygen:
        print("api-docs: doxygen is not installed; run scripts/bootstrap.", file=sys.stderr)
        return 1
    for old in ("api", "xml"):  # no stale pages of a header that went
        shutil.rmtree(out / old, ignore_errors=True)
    if subprocess.run([doxygen, doxyfile]).returncode != 0:
        print("api-docs: doxygen failed or warned (above); every public symbol needs a ///"
              " comment.", file=sys.stderr)
        return 1
    missing = undocumented_files(doxyfile, out / "xml") + undocumented_enum_values(out / "xml")
    for line in missing:
        print(line, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
