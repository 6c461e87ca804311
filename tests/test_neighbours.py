"""The nearest-labelled-rows detector: out of fold, monotone in its neighbours' labels, stored without pickle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from classifier import neighbours as nb


def _unit(rows: list[list[float]]) -> csr_matrix:
    x = np.asarray(rows, dtype=np.float64)
    return csr_matrix(x / np.linalg.norm(x, axis=1, keepdims=True))


def test_score_follows_the_share_of_similar_pitches():
    ref = _unit([[1, 0, 0]] * 3 + [[0, 1, 0]] * 3)
    labels = np.array([1, 1, 1, 0, 0, 0])
    q = _unit([[1, 0.1, 0], [0.1, 1, 0], [1, 1, 0], [0, 0, 1]])
    s = nb.rate_logodds(q, ref, labels, k=3)
    assert s[0] > 0 > s[1]  # like the pitches / like the others
    assert nb.rate_logodds(q[2:3], ref, labels, k=6)[0] == pytest.approx(0.0, abs=1e-9)  # as like both: ½
    assert s[3] == pytest.approx(0.0, abs=1e-9)  # like nothing judged: the prior ½
    more = nb.rate_logodds(q[:1], ref, np.array([1, 1, 0, 0, 0, 0]), k=3)
    assert more[0] < s[0]  # one fewer pitch among its neighbours: lower


def test_out_of_fold_never_counts_the_row_itself():
    x = _unit([[1, 0], [1, 0], [0, 1], [0, 1]])
    y = np.array([1, 0, 0, 1])  # each row's twin carries the other label
    oof = nb.out_of_fold(x, y, np.array([0, 1, 0, 1]), k=1)
    assert (oof[y == 1] < 0).all() and (oof[y == 0] > 0).all()  # it sees only the twin in the other fold


def test_saved_and_loaded_index_scores_the_same(tmp_path):
    rng = np.random.default_rng(0)
    x = csr_matrix(rng.random((40, 30)) * (rng.random((40, 30)) < 0.3))
    x = csr_matrix(x.multiply(1 / np.sqrt(x.multiply(x).sum(1) + 1e-12)))
    index = nb.NeighbourIndex.build(x, (rng.random(40) < 0.4).astype(int), [f"r{i}" for i in range(40)], k=5)
    back = nb.NeighbourIndex.load(index.save(tmp_path / "nb"))
    assert np.allclose(back.logodds(x), index.logodds(x), atol=1e-3)
    assert back.nearest(x[3], 1)[0][0] == "r3"
    scores, near = index.score(x, n_near=3)
    assert np.array_equal(scores, index.logodds(x))  # one pass gives both
    for i, row in enumerate(near):
        assert row[0][0] == f"r{i}" and [c for _, _, c in row] == sorted((c for _, _, c in row), reverse=True)
    assert not any(p.suffix == ".pkl" for p in (tmp_path / "nb").iterdir())
    with pytest.raises(ValueError):
        nb.NeighbourIndex.build(x, [1, 0], ["a", "b"])


def test_no_rows_no_neighbours():
    empty = csr_matrix((0, 3))
    assert nb.rate_logodds(empty, _unit([[1, 0, 0]]), np.array([1])).shape == (0,)
    assert nb.rate_logodds(_unit([[1, 0, 0]]), empty, np.array([], dtype=int)).tolist() == [0.0]


def test_rows_outside_ref_never_serve_as_neighbours():
    x = _unit([[1, 0], [1, 0.01], [0, 1], [0, 1]])
    y = np.array([0, 1, 0, 0])
    folds = np.array([0, 1, 0, 1])
    assert nb.out_of_fold(x, y, folds, k=1)[0] > 0  # its nearest other-fold row is the pitch
    barred = nb.out_of_fold(x, y, folds, k=1, ref=np.array([True, False, True, True]))[0]
    assert barred == pytest.approx(0.0, abs=1e-9)  # barred, it leaves only a dissimilar row: the prior
