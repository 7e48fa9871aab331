"""EvalReport: the evaluator's result, with JSON, Markdown and PNG outputs."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

MAX_BARS = 30  # languages shown in the per-language plot


@dataclass
class EvalReport:
    f2: float
    precision: float
    recall: float
    mean_selected: float
    margin: float
    max_candidates: Optional[int]
    min_items: int
    topics: int
    contents: int
    per_language: List[dict]  # rows: language, topics, contents, f2, precision, recall, mean_selected, mrr, recall@50
    recall_at_k: Dict[str, float]  # "1", "5", "10", "50", "100" → macro recall@k
    p_at_5: float
    r_at_5: float
    f1_at_5: float
    mrr: float
    sweep: List[dict] = field(default_factory=list)  # rows: margin, f2, precision, recall, mean_selected
    best_margin: Optional[float] = None
    best_f2: Optional[float] = None
    meta: dict = field(default_factory=dict)  # free-form: dataset, split, model, …

    def to_dict(self) -> dict:
        return asdict(self)

    def title(self) -> str:
        parts = [str(self.meta[k]) for k in ("model", "dataset", "split") if self.meta.get(k)]
        return "Evaluation" + (": " + " / ".join(parts) if parts else "")

    def to_markdown(self) -> str:
        cap = "none" if self.max_candidates is None else self.max_candidates
        lines = [
            f"# {self.title()}",
            "",
            f"{self.topics} topics against {self.contents} contents (candidates: same language); "
            f"margin {self.margin:.2f}, max_candidates {cap}, min_items {self.min_items}.",
            "",
            "| F2 | precision | recall | mean selected | R@1 | R@5 | R@10 | R@50 | R@100 | P@5 | R@5 | F1@5 | MRR |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            "| " + " | ".join(f"{v:.4f}" for v in (self.f2, self.precision, self.recall)) + f" | {self.mean_selected:.2f} | "
            + " | ".join(f"{self.recall_at_k[k]:.4f}" for k in ("1", "5", "10", "50", "100")) + " | "
            + " | ".join(f"{v:.4f}" for v in (self.p_at_5, self.r_at_5, self.f1_at_5, self.mrr)) + " |",
            "",
        ]
        if self.best_margin is not None:
            lines += [f"Best margin on this split: **{self.best_margin:.2f}** (F2 {self.best_f2:.4f}; "
                      f"F2 {self.f2:.4f} at {self.margin:.2f}).", ""]
        lines += [
            "Per language (seed format: Sel = floor of mean selected items, size = topics×contents):",
            "",
            "| lang | F2 | P | R | Sel | size |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for row in self.per_language:
            lines.append(f"| {row['language']} | {row['f2']:.5f} | {row['precision']:.5f} | {row['recall']:.3f} | "
                         f"{math.floor(row['mean_selected'])} | {row['topics']}×{row['contents']} |")
        lines.append(f"| **all** | **{self.f2:.5f}** | {self.precision:.5f} | {self.recall:.3f} | "
                     f"{math.floor(self.mean_selected)} | {self.topics} topics |")
        if self.sweep:
            lines += ["", "Margin sweep:", "", "| margin | F2 | P | R | mean selected |", "| --- | --- | --- | --- | --- |"]
            for row in self.sweep:
                mark = " ◀ best" if row["margin"] == self.best_margin else ""
                lines.append(f"| {row['margin']:.2f} | {row['f2']:.4f} | {row['precision']:.4f} | "
                             f"{row['recall']:.4f} | {row['mean_selected']:.2f}{mark} |")
        return "\n".join(lines) + "\n"

    def save(self, folder: Path | str) -> Path:
        """Write report.json, report.md, f2_vs_margin.png (if swept) and per_language.png into folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (folder / "report.md").write_text(self.to_markdown(), encoding="utf-8")
        self._plots(folder)
        return folder

    def _plots(self, folder: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")  # no display on servers and CI
        import matplotlib.pyplot as plt

        if self.sweep:
            fig, ax = plt.subplots(figsize=(6, 4))
            m = [r["margin"] for r in self.sweep]
            for key, style in (("f2", "-"), ("precision", "--"), ("recall", ":")):
                ax.plot(m, [r[key] for r in self.sweep], style, label=key)
            ax.axvline(self.margin, color="grey", lw=0.8, label=f"margin {self.margin:.2f}")
            if self.best_margin is not None:
                ax.axvline(self.best_margin, color="red", lw=0.8, label=f"best {self.best_margin:.2f}")
            ax.set_xlabel("margin")
            ax.set_ylabel("macro mean over topics")
            ax.set_title(self.title(), fontsize=9)
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(folder / "f2_vs_margin.png", dpi=100)
            plt.close(fig)
        rows = self.per_language[:MAX_BARS]
        fig, ax = plt.subplots(figsize=(max(4, 0.4 * len(rows) + 2), 4))
        ax.bar([r["language"] for r in rows], [r["f2"] for r in rows])
        ax.axhline(self.f2, color="red", lw=0.8, label=f"all {self.f2:.3f}")
        ax.set_ylabel(f"F2 (margin {self.margin:.2f})")
        ax.set_ylim(0, 1)
        ax.set_title(self.title(), fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "per_language.png", dpi=100)
        plt.close(fig)
