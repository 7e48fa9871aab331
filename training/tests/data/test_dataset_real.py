"""Checks against the real sources in ../shared/datasets (present beside the repo here and in CI)."""
import pytest

from curriculum_training.config import SHARED_DATASETS_DIR as SHARED_DATASETS
from curriculum_training.data.download import verify_tree
from curriculum_training.data.kolibri import convert_kolibri
from curriculum_training.data.lecr import dataset_counts
from curriculum_training.data.openstax import TRANSLATIONS, align_bundles, read_books

pytestmark = pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="../shared/datasets is not beside the repo")


def test_real_kicd_tree_counts():
    ds = convert_kolibri(SHARED_DATASETS / "kolibri-kicd-mathematics", category="aligned")
    counts = dataset_counts(ds)
    # 92 topic nodes; the 442 resource nodes carry 420 distinct content_ids (22 are copies of a
    # resource placed elsewhere too); 442 parent→child placements give 439 distinct topic→content
    # links (3 copies sit twice under the same topic); 78 topics hold resources.
    assert (counts["topics"], counts["topics_with_content"], counts["content"], counts["links"]) == (92, 78, 420, 439)
    assert counts["languages"] == ["en"]
    assert set(ds.topics["channel"]) == {"fdab6fb66ba24d05acd011e85bdb36ba"}
    assert ds.topics["level"].max() == 3


def test_real_openstax_translations_align_chapter_by_chapter_page_by_page():
    sizes = {}
    for translated, original in TRANSLATIONS.items():
        pairs = align_bundles(read_books(SHARED_DATASETS / "openstax" / original),
                              read_books(SHARED_DATASETS / "openstax" / translated))
        sizes[translated] = len(pairs)
        assert all(a.startswith(("col", original)) and b.startswith(("col", translated)) for a, b in pairs)
    # calculus: 3 books + 20 chapters + 151 chapter pages; physics: 3 books + 50 units/chapters + 314 pages
    assert sizes == {"calculo": 174, "fizyka": 367}


def test_committed_manifest_matches_the_shared_files():
    assert verify_tree(SHARED_DATASETS) == {"ok": 1185, "missing": 0, "different": 0}
