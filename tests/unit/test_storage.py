"""Local output storage: atomic writes, keys that cannot escape the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdq.storage import LocalOutputStorage, OutputNotFound, output_key


def test_put_get_delete(tmp_path: Path) -> None:
    storage = LocalOutputStorage(tmp_path)
    key = output_key("abcdefgh12345678", "out-1-0.png")
    storage.put(key, b"png", "image/png")
    assert storage.get(key) == b"png"
    assert storage.local_path(key) == tmp_path / key
    assert not list((tmp_path / "abcdefgh12345678").glob(".tmp-*"))
    storage.delete(key)
    with pytest.raises(OutputNotFound):
        storage.get(key)
    assert list(tmp_path.iterdir()) == []  # the job's folder went with its last file


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "abcdefgh/../../x", "abcdefgh/.hidden", "/abs/x.png"]
)
def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    with pytest.raises(OutputNotFound):
        LocalOutputStorage(tmp_path).get(key)
