"""The Dutch catalogue: complete, placeholders intact, in step with the code, and in use.

The .pot is what ``make messages`` extracts; these tests fail when a developer adds or changes
an English string without running ``make messages`` and translating the new entries.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = ROOT / "Makefile"
POT_FILE = ROOT / "web" / "locale" / "messages.pot"
NL_FILE = ROOT / "web" / "locale" / "nl" / "LC_MESSAGES" / "messages.po"

# A printf-style placeholder with a name, such as %(name)s or %(num)d.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _entries(catalog: Catalog) -> list:
    """The messages, without the header entry."""
    return [message for message in catalog if message.id]


def _forms(value: str | tuple | list) -> list[str]:
    return list(value) if isinstance(value, tuple | list) else [value]


def _label(message_id: str | tuple) -> str:
    return " / ".join(_forms(message_id))


def _placeholders(text: str) -> set[str]:
    return {match.group(0) for match in PLACEHOLDER.finditer(text)}


def test_every_message_has_a_dutch_translation():
    template = _read(POT_FILE)
    dutch = _read(NL_FILE, locale="nl")
    headers = dict(dutch.mime_headers)
    assert headers.get("Language") == "nl"
    assert headers.get("Plural-Forms") == "nplurals=2; plural=(n != 1);"
    assert not dutch.fuzzy, "the header of the Dutch catalogue is marked fuzzy"

    problems = []
    for message in _entries(template):
        entry = dutch.get(message.id)
        if entry is None:
            problems.append(f"missing: {_label(message.id)!r}")
            continue
        if entry.id != message.id:
            problems.append(f"singular/plural differ from the .pot: {_label(message.id)!r}")
            continue
        forms = _forms(entry.string)
        if message.pluralizable and len(forms) != dutch.num_plurals:
            problems.append(f"needs {dutch.num_plurals} plural forms: {_label(message.id)!r}")
        elif not all(form.strip() for form in forms):
            problems.append(f"untranslated: {_label(message.id)!r}")
        if entry.fuzzy:
            problems.append(f"fuzzy: {_label(message.id)!r}")
    assert not problems, f"{NL_FILE.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_translations_keep_the_placeholders():
    dutch = _read(NL_FILE, locale="nl")
    problems = []
    for entry in _entries(dutch):
        expected = set().union(*(_placeholders(text) for text in _forms(entry.id)))
        for form in _forms(entry.string):
            if not form:
                continue  # reported by the completeness test
            found = _placeholders(form)
            if found != expected:
                problems.append(
                    f"{_label(entry.id)!r}: expected {sorted(expected)}, got {sorted(found)}"
                    f" in {form!r}"
                )
            # Every string goes through "%" formatting (Jinja's new-style gettext), so a lone
            # "%" would break the page: it has to be written "%%".
            elif "%" in PLACEHOLDER.sub("", form).replace("%%", ""):
                problems.append(f"{_label(entry.id)!r}: a lone '%' in {form!r}")
    assert not problems, "Placeholders differ from the English:\n" + "\n".join(problems)


def _extract_arguments(output: Path) -> list[str]:
    """The arguments of ``pybabel extract`` in the Makefile's ``messages`` target, with the
    output file replaced: the test extracts exactly what ``make messages`` extracts."""
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+)\s*[:?]?=\s*(.*)$", text, flags=re.MULTILINE))
    command = next((line for line in text.splitlines() if "pybabel extract" in line), "")
    assert command, "no 'pybabel extract' command found in the Makefile"
    command = re.sub(r"\$\((\w+)\)", lambda found: variables.get(found[1], found[0]), command)
    arguments = shlex.split(command)
    arguments = arguments[arguments.index("extract") + 1 :]
    assert "-F" in arguments and "-k" in arguments, f"unexpected extract command: {arguments}"
    arguments[arguments.index("-o") + 1] = str(output)
    return arguments


def test_pot_is_up_to_date(tmp_path: Path):
    fresh_pot = tmp_path / "messages.pot"
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    result = subprocess.run(
        [*pybabel, "extract", *_extract_arguments(fresh_pot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    extracted = {message.id for message in _entries(_read(fresh_pot))}
    committed = {message.id for message in _entries(_read(POT_FILE))}
    missing = sorted(_label(message_id) for message_id in extracted - committed)
    stale = sorted(_label(message_id) for message_id in committed - extracted)
    assert not missing and not stale, (
        "web/locale/messages.pot is out of date: run `make messages` and translate the new"
        " entries in web/locale/nl/LC_MESSAGES/messages.po.\n"
        + "".join(f"  not in the .pot: {message_id!r}\n" for message_id in missing)
        + "".join(f"  no longer in the code: {message_id!r}\n" for message_id in stale)
    )


async def test_setup_page_in_dutch(client):
    english = await client.get("/setup")
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert "Set up this instance" in english.text

    response = await client.get("/setup", headers={"Accept-Language": "nl"})
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nl">' in html
    for dutch in ("Dit intranet inrichten", "Beheerder aanmaken", "Gebruikersnaam", "Wachtwoord"):
        assert dutch in html
    for english_text in ("Set up this instance", "Create administrator", "Username"):
        assert english_text not in html
