"""Nearest labelled neighbours: how the labelled texts most like this one were judged.

Why: many pitches are templates (an advertorial reposted with another platform name, an SMS series, an app's
boilerplate), and a reader who has seen the sibling judges the copy by it. A bag of n-grams weighs each n-gram
alone; the neighbours' verdict weighs the whole text against whole judged texts. In tools/detection_lab.py's
``knn`` variant (seed v3, fitted on train, chosen on dev) the combination with it gained most on dev's real rows
(F1 0.786 → 0.801), the first such gain since the written set arrived. It also names the cases a verdict rests on,
which an inspector can open.

The texts are the n-gram model's TF-IDF rows (L2-normalised, so a dot product is the cosine); the score of a text is
the similarity-weighted fundraising rate of its ``k`` most similar labelled rows, smoothed towards ½ and given as
log-odds. Stored as plain arrays (``neighbours.npz`` + ``neighbours.json``), loaded without unpickling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

JSON_FILE = "neighbours.json"
NPZ_FILE = "neighbours.npz"
FORMAT = 1
# Why 20: in tools/detection_lab.py's knn variant, k = 20 gave the combination dev F1 0.899 at 0.5 against 0.895 (5)
# and 0.894 (50).
K = 20
PRIOR = 0.5  # pseudo-count of each class, so a text with no similar row scores ½ (log-odds 0)
CHUNK = 512  # query rows per similarity block: 512 × 10k labelled rows of float32 is 20 MB


@dataclass
class NeighbourIndex:
    matrix: object  # scipy.sparse.csr_matrix, labelled rows × n-gram features, rows of unit length
    labels: np.ndarray  # 1 = fundraising
    ids: list[str]
    k: int = K

    def __post_init__(self) -> None:
        # features × rows, converted once: a product with ``matrix.T`` would convert all 2 M entries per call
        self._by_feature = self.matrix.T.tocsr()

    @classmethod
    def build(cls, matrix, labels: Sequence[int], ids: Sequence[str], k: int = K) -> NeighbourIndex:
        from scipy.sparse import csr_matrix

        y = np.asarray(labels, dtype=np.int8)
        if matrix.shape[0] != len(y) or len(y) != len(ids):
            raise ValueError("rows, labels and ids differ in length")
        return cls(csr_matrix(matrix, dtype=np.float32), y, [str(i) for i in ids], int(k))

    def logodds(self, x) -> np.ndarray:
        """Log-odds of the similarity-weighted fundraising rate of each query row's ``k`` nearest labelled rows."""
        return rate_logodds(x, self._by_feature, self.labels, self.k, transposed=True)

    def score(self, x, n_near: int = 2) -> tuple[np.ndarray, list[list[tuple[str, int, float]]]]:
        """``logodds`` and, from the same similarities, each row's ``n_near`` most similar labelled rows as (id,
        label, cosine), most similar first: what the explanation names."""
        top: list = []
        out = rate_logodds(x, self._by_feature, self.labels, self.k, transposed=True, top=top)
        near = [[(self.ids[i], int(self.labels[i]), round(float(c), 3)) for i, c in row[:n_near] if c > 0]
                for row in top]
        return out, near

    def nearest(self, x_row, n: int = 2) -> list[tuple[str, int, float]]:
        """The ``n`` most similar labelled rows of one query row: (id, label, cosine), most similar first."""
        return self.score(x_row, n)[1][0]

    def save(self, directory: Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        m = self.matrix
        np.savez_compressed(directory / NPZ_FILE, data=m.data.astype(np.float16), indices=m.indices.astype(np.int32),
                            indptr=m.indptr.astype(np.int64), shape=np.array(m.shape, dtype=np.int64),
                            labels=self.labels)
        doc = {"format": FORMAT, "k": self.k, "prior": PRIOR, "ids": self.ids}
        (directory / JSON_FILE).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path) -> NeighbourIndex:
        from scipy.sparse import csr_matrix

        directory = Path(directory)
        doc = json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"{directory}: unknown neighbour index format {doc.get('format')!r}")
        with np.load(directory / NPZ_FILE, allow_pickle=False) as z:
            shape = tuple(int(v) for v in z["shape"])
            m = csr_matrix((z["data"].astype(np.float32), z["indices"], z["indptr"]), shape=shape)
            labels = z["labels"].astype(np.int8)
        ids = [str(i) for i in doc["ids"]]
        if not (m.shape[0] == len(labels) == len(ids)):
            raise ValueError(f"{directory}: rows, labels and ids differ in length")
        return cls(m, labels, ids, int(doc["k"]))


def rate_logodds(x, matrix, labels: np.ndarray, k: int = K, weights: np.ndarray | None = None,
                 transposed: bool = False, top: list | None = None) -> np.ndarray:
    """The neighbours' score of each row of ``x`` against the labelled rows ``matrix`` (see the module's text);
    ``weights``: each labelled row's weight on top of its similarity (tools/detection_lab.py's knn_class);
    ``transposed``: ``matrix`` is already features × labelled rows, in CSR; ``top``: a list that receives, per
    query row, its ``k`` neighbours as (row index, cosine), most similar first."""
    by_feature = matrix if transposed else matrix.T.tocsr()
    n_query, n_ref = x.shape[0], by_feature.shape[1]
    out = np.zeros(n_query, dtype=np.float64)
    if not n_query or not n_ref:
        return out
    kk = min(k, n_ref)
    y = np.asarray(labels, dtype=np.float64)
    w = np.ones(n_ref) if weights is None else np.asarray(weights, dtype=np.float64)
    for start in range(0, n_query, CHUNK):
        sim = np.asarray((x[start:start + CHUNK] @ by_feature).todense(), dtype=np.float64)
        idx = np.argpartition(-sim, kk - 1, axis=1)[:, :kk] if kk < n_ref else np.tile(np.arange(n_ref), (len(sim), 1))
        cos = np.take_along_axis(sim, idx, 1)
        s = cos * w[idx]
        rate = ((s * y[idx]).sum(1) + PRIOR) / (s.sum(1) + 2 * PRIOR)
        if top is not None:
            order = np.argsort(-cos, axis=1, kind="stable")
            top += [list(zip(i.tolist(), c.tolist(), strict=True)) for i, c in
                    zip(np.take_along_axis(idx, order, 1), np.take_along_axis(cos, order, 1), strict=True)]
        out[start:start + len(sim)] = np.log(rate / (1 - rate))
    return out


def out_of_fold(x, labels: Sequence[int], folds: np.ndarray, k: int = K, ref: np.ndarray | None = None,
                weights: np.ndarray | None = None) -> np.ndarray:
    """Each row's neighbours' score from the rows of the other folds only (near-duplicates share a fold);
    ``ref``: which rows may serve as neighbours (default all); ``weights``: as ``rate_logodds``'s, one per row."""
    y = np.asarray(labels, dtype=np.int8)
    usable = np.ones(len(y), bool) if ref is None else np.asarray(ref, bool)
    out = np.zeros(len(y), dtype=np.float64)
    for f in np.unique(folds):
        ref_rows, held = np.flatnonzero((folds != f) & usable), np.flatnonzero(folds == f)
        w = None if weights is None else np.asarray(weights)[ref_rows]
        out[held] = rate_logodds(x[held], x[ref_rows], y[ref_rows], k, w)
    return out
