import pandas as pd
import pytest

from curriculum_training.data.lecr import Dataset
from curriculum_training.switching import available_pools, pool_schedule, resolve_pools


def test_seed_schedule_for_40_epochs_matches_the_table():
    schedule = pool_schedule(40, [0, 1, 2, 3], init_pool=0, epoch_stop_switching=36)
    by_pool = {p: [e for e in range(1, 41) if schedule[e - 1] == p] for p in range(4)}
    assert by_pool[0] == list(range(1, 36, 2)) + [37, 38, 39, 40]
    assert len(by_pool[0]) == 22
    assert by_pool[1] == [2, 8, 14, 20, 26, 32]
    assert by_pool[2] == [4, 10, 16, 22, 28, 34]
    assert by_pool[3] == [6, 12, 18, 24, 30, 36]


def test_generalises_to_any_pools_and_stops():
    assert pool_schedule(8, [0, 1], epoch_stop_switching=4) == [0, 1, 0, 1, 0, 0, 0, 0]
    assert pool_schedule(5, [0]) == [0] * 5
    assert pool_schedule(4, [0, 1, 2], enabled=False) == [0] * 4
    assert pool_schedule(4, [0, 1], init_pool=1) == [1, 1, 0, 1]
    assert pool_schedule(0, [0, 1]) == []
    with pytest.raises(ValueError, match="init_pool"):
        pool_schedule(3, [0, 1], init_pool=2)


def test_available_and_requested_pools():
    empty = pd.DataFrame()
    ds = Dataset(empty, empty, empty, switch={2: (empty, empty), 1: (empty, empty)})
    assert available_pools(ds) == [0, 1, 2]
    assert resolve_pools(None, [0, 1, 2]) == [0, 1, 2]
    assert resolve_pools([0], [0, 1, 2]) == [0]
    with pytest.raises(ValueError, match="pool 3"):
        resolve_pools([0, 3], [0, 1])
