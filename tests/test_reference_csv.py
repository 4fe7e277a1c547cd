"""Reference CSVs: an unreadable file names itself and the line; an empty registry and malformed override ids are
refused."""

from __future__ import annotations

import pytest

from analysis.origin.registry import RegistryError, load_overrides, load_registry
from analysis.paths import REPO_ROOT

REGISTRY = REPO_ROOT / "data" / "reference" / "organizations.csv"
OVERRIDES = REPO_ROOT / "data" / "reference" / "model_overrides.csv"


def _head(path, rows: int) -> list[str]:
    """The header and the first ``rows`` data lines of a committed reference file (whatever its columns)."""
    return path.read_text(encoding="utf-8").splitlines()[:rows + 1]


def test_a_registry_in_another_encoding_names_the_file_and_the_line(tmp_path):
    lines = _head(REGISTRY, 3)
    lines[3] = lines[3].replace(",", ",Société ", 1)  # an accented letter on line 4
    f = tmp_path / "organizations.csv"
    f.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(RegistryError, match=rf"registry file {f}: line 4: byte 0xe9 is not UTF-8 .*save it as UTF-8"):
        load_registry(f)


def test_a_row_with_an_extra_field_names_the_file_and_the_line(tmp_path):
    lines = _head(REGISTRY, 3)
    lines[2] += ",an extra field"
    f = tmp_path / "organizations.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"registry file {f}: line 3: not readable as CSV .*quote a field"):
        load_registry(f)


def test_an_unclosed_quote_names_where_it_starts(tmp_path):
    lines = _head(OVERRIDES, 1)
    f = tmp_path / "model_overrides.csv"
    f.write_text(lines[0] + '\nowner/model,lineage,US,"an unclosed reason,https://example.org\n', encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"overrides file {f}: line 2: not readable as CSV"):
        load_overrides(f)


def test_an_empty_or_header_only_registry_is_refused(tmp_path):
    f = tmp_path / "organizations.csv"
    f.write_text("", encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"registry file {f} is empty"):
        load_registry(f)
    f.write_text(_head(REGISTRY, 0)[0] + "\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"has no accounts \(only a header\)"):
        load_registry(f)
    assert len(load_registry(REGISTRY)) > 100  # the committed registry loads


@pytest.mark.parametrize("model_id", ["just-a-name", "owner/name/extra", "owner /name", "/name", "owner/"])
def test_override_ids_must_be_owner_slash_name(tmp_path, model_id):
    f = tmp_path / "model_overrides.csv"
    f.write_text(_head(OVERRIDES, 0)[0] + f"\n{model_id},lineage,US,a reason,https://example.org\n",
                 encoding="utf-8")
    with pytest.raises(RegistryError, match=r"row\(s\) 1: malformed model_id; expected the Hub's form 'owner/name'"):
        load_overrides(f)
    f.write_text(_head(OVERRIDES, 0)[0] + "\nowner/name-1.5B_v2,lineage,US,a reason,https://example.org\n",
                 encoding="utf-8")
    assert load_overrides(f)["model_id"].tolist() == ["owner/name-1.5B_v2"]
