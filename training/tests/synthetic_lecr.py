"""Small synthetic LECR datasets for the training tests (no files outside tmp_path).

Each topic has a distinctive pair of words; its contents repeat them with filler, so even a tiny random
encoder can learn the pairing in a few steps. Some contents are shared between two topics (as lessons
in Oak are), and pool 1 holds a "translation" (other words, other language) of every row.
"""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from curriculum_training.data.lecr import Dataset, write_dataset
from curriculum_training.splits import make_splits, write_splits

WORDS = ("apple river stone cloud maple tiger lemon ocean piano rocket violet castle garden planet "
         "silver forest candle meadow orbit falcon copper desert harbor island jungle lantern marble "
         "nectar oyster pepper quartz saddle tundra umbra valley willow yonder zephyr").split()
FILLER = "the a of and with about learn lesson part intro more some".split()


def make_dataset(folder: Path, n_topics: int = 24, per_topic: int = 4, shared: int = 4, languages=("en", "fr"),
                 with_switch: bool = True, seed: int = 0) -> Path:
    rng = random.Random(seed)
    folder = Path(folder)
    topics, content, correlations = [], [], []
    root = {"id": "root", "title": "Synthetic curriculum", "description": "", "channel": "ch", "category": "source",
            "level": 0, "language": languages[0], "parent": "", "has_content": False}
    topics.append(root)
    parents = []
    for g in range(4):  # four groups → the group hold-out has families to choose from
        pid = f"group-{g}"
        parents.append(pid)
        topics.append({"id": pid, "title": f"Unit {g}", "description": "", "channel": f"ch{g}",
                       "category": "source", "level": 1, "language": languages[0], "parent": "root",
                       "has_content": False})
    for i in range(n_topics):
        lang = languages[i % len(languages)]
        w1, w2 = WORDS[(2 * i) % len(WORDS)], WORDS[(2 * i + 1) % len(WORDS)]
        tid = f"topic-{i:03d}"
        topics.append({"id": tid, "title": f"{w1} {w2}", "description": f"all about {w1}",
                       "channel": f"ch{i % 4}", "category": "source", "level": 2, "language": lang,
                       "parent": parents[i % 4], "has_content": True})
        cids = []
        for j in range(per_topic):
            cid = f"c-{i:03d}-{j}"
            filler = " ".join(rng.choice(FILLER) for _ in range(6))
            content.append({"id": cid, "title": f"{w1} {j}", "description": f"{w2} {filler}", "kind": "video",
                            "text": f"{w1} {w2} {filler}", "language": lang, "copyright_holder": "",
                            "license": ""})
            cids.append(cid)
        correlations.append({"topic_id": tid, "content_ids": cids})
    # shared contents: topic i also links one content of topic i+len(languages) (same language)
    for k in range(min(shared, n_topics - len(languages))):
        other = correlations[k + len(languages)]["content_ids"][0]
        correlations[k]["content_ids"].append(other)
    corr = pd.DataFrame([{"topic_id": r["topic_id"], "content_ids": " ".join(r["content_ids"])} for r in correlations])
    t_df, c_df = pd.DataFrame(topics), pd.DataFrame(content)
    switch = {}
    if with_switch:
        flip = {languages[0]: languages[-1], languages[-1]: languages[0]}
        st = t_df[["id", "title", "description", "parent"]].copy()
        st["title"] = "tr " + st["title"]
        st["language_t"] = [flip.get(x, x) for x in t_df["language"]]
        sc = c_df[["id", "title", "description", "text"]].copy()
        sc["title"] = "tr " + sc["title"]
        sc["language_t"] = [flip.get(x, x) for x in c_df["language"]]
        switch[1] = (st, sc)
    ds = Dataset(t_df, c_df, corr, switch, folder.name)
    write_dataset(ds, folder)
    table, _ = make_splits(ds)
    write_splits(table, folder)
    return folder
