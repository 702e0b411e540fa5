"""Compile the translation catalogues (.po → .mo) that are missing or older than their source.

Uses GNU gettext's msgfmt when it is installed (what `django-admin compilemessages` runs), and
otherwise a small pure-Python compiler, so that a machine with only Python still gets the
French interface. Quiet when everything is up to date.

    python scripts/compile_messages.py [--force]
"""

import argparse
import ast
import shutil
import struct
import subprocess
import sys
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ["locale/*/LC_MESSAGES/*.po", "*/locale/*/LC_MESSAGES/*.po"]


def catalogues() -> list[Path]:
    found = {path for pattern in PATTERNS for path in ROOT.glob(pattern)}
    return sorted(path for path in found if ".venv" not in path.parts)


def is_stale(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


class PoSyntaxError(ValueError):
    pass


def parse_po(text: str, source: str) -> dict[bytes, bytes]:
    """Read a .po file into {key: translation}, as msgfmt would keep them.

    Keys follow the .mo conventions: "context\\x04msgid" for a context, "msgid\\0plural"
    for plural forms, whose translations are joined with "\\0". Fuzzy and untranslated
    entries are left out, except the header, which carries the charset and plural rule.
    """
    messages: dict[bytes, bytes] = {}
    entry: dict[str, object] = {}
    fuzzy = False
    section: tuple[str, int | None] | None = None

    def flush() -> None:
        nonlocal entry, fuzzy
        if "msgid" in entry:
            msgid = str(entry["msgid"])
            strs = entry.get("msgstr", {})
            assert isinstance(strs, dict)
            translations = [strs[index] for index in sorted(strs)]
            is_header = msgid == "" and "msgctxt" not in entry
            if translations and any(translations) and (is_header or not fuzzy):
                key = msgid
                if "msgid_plural" in entry:
                    key += "\0" + str(entry["msgid_plural"])
                if "msgctxt" in entry:
                    key = f"{entry['msgctxt']}\x04{key}"
                messages[key.encode()] = "\0".join(translations).encode()
        entry, fuzzy = {}, False

    def append(value: str) -> None:
        if section is None:
            raise PoSyntaxError("a string outside any msgid/msgstr")
        name, index = section
        if name == "msgstr":
            strs = entry.setdefault("msgstr", {})
            assert isinstance(strs, dict)
            strs[index or 0] = strs.get(index or 0, "") + value
        else:
            entry[name] = str(entry.get(name, "")) + value

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        try:
            if not line:
                continue
            if line.startswith("#"):
                if line.startswith("#~"):
                    continue  # obsolete entry
                if line.startswith("#,"):
                    if "msgstr" in entry:
                        flush()
                    fuzzy = fuzzy or "fuzzy" in line[2:].replace(",", " ").split()
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                append(ast.literal_eval(line))
                continue
            if keyword in ("msgctxt", "msgid") and "msgstr" in entry:
                flush()
            if keyword.startswith("msgstr["):
                section = ("msgstr", int(keyword[7:-1]))
            elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                section = (keyword, None)
            else:
                raise PoSyntaxError(f"unknown keyword {keyword!r}")
            # Start the field even when its value is "" so that empty ids and strings count.
            if section[0] == "msgstr":
                strs = entry.setdefault("msgstr", {})
                assert isinstance(strs, dict)
                strs.setdefault(section[1] or 0, "")
            else:
                entry.setdefault(section[0], "")
            append(ast.literal_eval(rest.strip()))
        except (SyntaxError, ValueError) as error:
            raise PoSyntaxError(f"{source}:{number}: cannot read {raw!r} ({error})") from None
    flush()
    return messages


def write_mo(messages: dict[bytes, bytes], path: Path) -> None:
    """Write a GNU .mo file (little-endian, no hash table), as CPython's msgfmt.py does."""
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for key in keys:
        offsets.append((len(ids), len(key), len(strs), len(messages[key])))
        ids += key + b"\0"
        strs += messages[key] + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_offsets: list[int] = []
    value_offsets: list[int] = []
    for id_offset, id_length, str_offset, str_length in offsets:
        key_offsets += [id_length, id_offset + key_start]
        value_offsets += [str_length, str_offset + value_start]
    header = struct.pack("<Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    table = array("i", key_offsets + value_offsets)
    if sys.byteorder != "little":
        table.byteswap()
    path.write_bytes(header + table.tobytes() + ids + strs)


def compile_one(po: Path, mo: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt:
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
    else:
        write_mo(parse_po(po.read_text(encoding="utf-8"), str(po)), mo)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="recompile every catalogue")
    options = parser.parse_args(argv)
    for po in catalogues():
        mo = po.with_suffix(".mo")
        if options.force or is_stale(po, mo):
            try:
                compile_one(po, mo)
            except (subprocess.CalledProcessError, PoSyntaxError) as error:
                print(f"compile_messages: {po.relative_to(ROOT)}: {error}", file=sys.stderr)
                return 1
            print(f"Compiled {po.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
