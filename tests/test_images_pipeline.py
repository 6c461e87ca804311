"""Images through the store and the scoring path: stored once by hash, refusals recorded, the text verdict first
and the OCR verdict after it (embedded mode: the ``images`` task runs in-process), hits mapped to image boxes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.images import (
    ImageIn,
    build_version_ocr,
    claim_readings,
    image_data,
    ocr_hits,
    qr_payloads,
    save_version_images,
    version_images,
    versions_awaiting_ocr,
)
from store.models import (
    Document,
    DocumentIdentifier,
    DocumentVersion,
    Flag,
    Rejection,
    StoredImage,
    StoredReading,
    Verdict,
    VersionImage,
    VersionOCR,
)
from tests.test_images_check import SVG_WITH_SCRIPT, png, png_bomb

POSTERS = Path(__file__).resolve().parents[1] / "demo_site" / "data" / "posters"
PITCH_POSTER = (POSTERS / "p10020-jijiying.png").read_bytes()
QR_POSTER = (POSTERS / "p10313-kangle.png").read_bytes()
MENU_POSTER = (POSTERS / "p10514-laojiefang.png").read_bytes()
CLEAN_TEXT = "本公司新品上线，具体内容请看下方海报。地址：神火大道中段，欢迎上门咨询。"


def _doc(url: str, session, body: str = CLEAN_TEXT, title: str = "新品上线 详情见图") -> Document:
    doc, _ = save_document(
        session, DocumentIn(url=url, canonical_url=url, text=body, title=title, raw=f"<p>{body}</p>".encode())
    )
    return doc


def test_images_are_stored_once_by_hash_and_refusals_are_recorded(db_url):
    hostile = {
        "http://t.test/empty.png": b"",
        "http://t.test/page.png": b"<html><body>not an image</body></html>",
        "http://t.test/x.svg": SVG_WITH_SCRIPT,
        "http://t.test/bomb.png": png_bomb(),
        "http://t.test/cut.png": png(200, 100, "red")[:300],
        "http://t.test/poly.png": png() + b"<script>alert(1)</script>",
    }
    with session_scope(db_url) as s:
        a, b = _doc("http://t.test/a", s), _doc("http://t.test/b", s, body="另一条信息，详见图片。")
        rows = save_version_images(
            s, a.current_version_id,
            [ImageIn("http://t.test/banner.png", PITCH_POSTER, declared_type="image/png")]
            + [ImageIn(u, d) for u, d in hostile.items()],
        )  # fmt: skip
        save_version_images(s, b.current_version_id, [ImageIn("http://cdn.test/same-banner.png", PITCH_POSTER)])
        assert [r.reason for r in rows] == [None, "image_empty", "image_not_image", "image_svg",
                                            "image_too_many_pixels", "image_truncated", "image_polyglot"]  # fmt: skip
        va, vb = a.current_version_id, b.current_version_id
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count(StoredImage.id))) == 1, "one banner on two pages is stored once"
        img = s.scalar(select(StoredImage))
        assert (img.content_type, img.width, img.height, img.size) == ("image/png", 900, 600, len(PITCH_POSTER))
        assert img.first_url == "http://t.test/banner.png" and img.data == PITCH_POSTER
        reasons = dict(s.execute(select(Rejection.url, Rejection.reason)).all())
        assert reasons == {u: r for u, r in zip(hostile, [rw.reason for rw in rows[1:]], strict=True)}
        bomb = s.scalar(select(Rejection).where(Rejection.url == "http://t.test/bomb.png"))
        assert bomb.raw_size == len(hostile["http://t.test/bomb.png"]) and len(bomb.raw_excerpt) < 5000
        listed = version_images(s, va)
        assert [(i["position"], i["reason"]) for i in listed][:2] == [(0, None), (1, "image_empty")]
        assert listed[0]["sha256"] == img.sha256 and listed[0]["reading"] is None
        assert image_data(s, img.id) == ("image/png", PITCH_POSTER)
        assert versions_awaiting_ocr(s) == [va, vb]


def test_a_reader_that_dies_on_an_image_gives_it_up_after_two_tries(sqlite_url):
    with session_scope(sqlite_url) as s:
        doc = _doc("http://t.test/p", s)
        save_version_images(s, doc.current_version_id, [ImageIn("http://t.test/p.png", MENU_POSTER)])
        image_id = s.scalar(select(StoredImage.id))
    for expected in ([image_id], [image_id], []):  # two claims whose reads never finished, then given up
        with session_scope(sqlite_url) as s:
            assert claim_readings(s, [image_id], "eng") == expected
    with session_scope(sqlite_url) as s:
        r = s.scalar(select(StoredReading))
        assert r.status == "failed" and "never finished" in r.error
        ocr = build_version_ocr(s, doc.current_version_id, "eng")
        assert ocr is not None and ocr.text == ""  # the version is done: its one image could not be read


def _count_reads(monkeypatch) -> list[int]:
    from imaging.ocr import OcrEngine

    calls: list[int] = []
    real = OcrEngine.read

    def counting(self, image):  # noqa: ANN001, ANN202
        calls.append(image.size[0])
        return real(self, image)

    monkeypatch.setattr(OcrEngine, "read", counting)
    return calls


def test_clean_text_with_a_pitch_poster_is_flagged_after_the_text_verdict(embedded, monkeypatch):
    from worker.dispatch import send

    reads = _count_reads(monkeypatch)
    with session_scope(embedded) as s:
        docs = [_doc(f"http://t.test/{i}", s, body=f"{CLEAN_TEXT}（第{i}条）") for i in range(3)]
        save_version_images(s, docs[0].current_version_id, [ImageIn("http://t.test/b.png", PITCH_POSTER)])
        save_version_images(s, docs[1].current_version_id, [ImageIn("http://t.test/b2.png", PITCH_POSTER)])
        save_version_images(s, docs[2].current_version_id, [ImageIn("http://t.test/m.png", MENU_POSTER)])
        ids = [d.id for d in docs]
    send("adscreen.score_batch", ids)
    assert len(reads) == 2, "the banner on two pages is read once, the menu once"
    with session_scope(embedded) as s:
        verdicts = list(s.scalars(select(Verdict).where(Verdict.document_id == ids[0]).order_by(Verdict.id)))
        assert [v.detector_versions.split("+")[-1].split(":")[0] for v in verdicts] == ["kw", "ocr"]
        text_v, ocr_v = verdicts
        assert not text_v.flagged and ocr_v.flagged, "the text verdict is written first; OCR updates it"
        assert ocr_v.detector_versions == f"{text_v.detector_versions}+ocr:rapidocr-3.10.0-ppocrv6"
        assert ocr_v.explanation.startswith("宣传内容仅出现在图片中")
        flag = s.scalar(select(Flag).where(Flag.document_id == ids[0]))
        assert flag is not None and flag.verdict_id == ocr_v.id and flag.status == "open"
        version = s.get(DocumentVersion, text_v.version_id)
        fields = version.fields()
        assert set(fields) == {"title", "body", "ocr"} and "保本保息" in fields["ocr"]
        ocr_hits_ = [h for h in ocr_v.hits if h["field"] == "ocr"]
        assert ocr_hits_ and all(fields["ocr"][h["start"] : h["end"]] == h["matched"] for h in ocr_v.hits)
        image_id = s.scalar(select(StoredImage.id).where(StoredImage.first_url == "http://t.test/b.png"))
        term = next(h for h in ocr_hits_ if h["matched"] == "保本保息")
        assert term["image_id"] == image_id
        [box] = term["boxes"]
        x0, y0, x1, y1 = box["box"]
        assert box["line"] == 1 and 400 < x0 < x1 < 800 and 100 < y0 < y1 < 250  # the right half of line 2
        drawn = ocr_hits(s, version.id, ocr_v.hits)
        assert set(drawn) == {image_id} and any(d["matched"] == "保本保息" for d in drawn[image_id])
        [listed] = version_images(s, version.id)
        assert listed["reading"]["status"] == "ok" and listed["reading"]["lines"][1]["text"].startswith("年化收益12%")
        assert listed["block"] == {"image_id": image_id, "start": 0, "end": len(fields["ocr"])}
        menu = s.scalar(select(Flag).where(Flag.document_id == ids[2]))
        assert menu is None, "a restaurant poster raises nothing"
        assert s.scalar(select(func.count(VersionOCR.id))) == 3

    # a rescore under the same detectors writes nothing new and leaves the flag on the OCR verdict
    from adscreen.settings import get_settings
    from scoring.documents import score_document_ids
    from scoring.engine import process_scorer

    score_document_ids(embedded, ids, process_scorer(get_settings()))
    send("adscreen.read_images", [text_v.version_id])  # a redelivered images task: nothing read, nothing new
    assert len(reads) == 2
    with session_scope(embedded) as s:
        assert s.scalar(select(func.count(Verdict.id)).where(Verdict.document_id == ids[0])) == 2
        flag = s.scalar(select(Flag).where(Flag.document_id == ids[0]))
        assert flag.verdict_id == ocr_v.id and flag.status == "open"
        fresh = s.scalar(select(Verdict).where(Verdict.id == ocr_v.id))
        assert fresh.hits == ocr_v.hits


def test_qr_payloads_become_identifiers_of_the_version(embedded):
    from worker.dispatch import send

    with session_scope(embedded) as s:
        doc = _doc("http://t.test/qr", s, title="康乐园开放参观", body="康乐园即日起开放参观，详情请扫描图片中的二维码。")
        save_version_images(s, doc.current_version_id, [ImageIn("http://t.test/qr.png", QR_POSTER)])
        doc_id, vid = doc.id, doc.current_version_id
    send("adscreen.score_batch", [doc_id])
    with session_scope(embedded) as s:
        assert [c["text"] for c in qr_payloads(s, vid)] == ["https://kangle-yanglao.example.cn/join?ref=A88"]
        idents = {(i.kind, i.field): i for i in s.scalars(select(DocumentIdentifier).where(DocumentIdentifier.version_id == vid))}
        assert ("url", "qr") in idents and ("domain", "qr") in idents
        ocr = s.scalar(select(VersionOCR).where(VersionOCR.version_id == vid))
        for i in idents.values():
            text = {"qr": ocr.qr_text, "ocr": ocr.text, "title": "康乐园开放参观"}.get(i.field)
            if text is not None:
                assert text[i.start : i.end] == i.matched
        assert "example.cn" in idents[("domain", "qr")].value
        flag = s.scalar(select(Flag).where(Flag.document_id == doc_id))
        assert flag is not None and flag.verdict.detector_versions.endswith("+ocr:rapidocr-3.10.0-ppocrv6")


def test_an_image_the_engine_fails_on_is_a_failed_reading_not_a_failed_task(embedded, monkeypatch):
    from imaging.ocr import OcrEngine
    from worker.dispatch import send

    def boom(self, image):  # noqa: ANN001, ANN202
        raise RuntimeError("onnxruntime said no")

    monkeypatch.setattr(OcrEngine, "read", boom)
    with session_scope(embedded) as s:
        doc = _doc("http://t.test/f", s)
        save_version_images(s, doc.current_version_id, [ImageIn("http://t.test/f.png", PITCH_POSTER)])
        doc_id = doc.id
    send("adscreen.score_batch", [doc_id])
    with session_scope(embedded) as s:
        r = s.scalar(select(StoredReading))
        assert r.status == "failed" and "onnxruntime said no" in r.error
        assert s.scalar(select(func.count(VersionOCR.id))) == 1
        assert s.scalar(select(func.count(Verdict.id))) == 1  # the text verdict only: no image text to add
        assert s.scalar(select(VersionImage.reason)) is None  # the image itself stays stored evidence


def test_the_embedded_images_pass_reads_every_unread_version(embedded):
    from adscreen.settings import get_settings
    from scoring.documents import score_document_ids
    from scoring.engine import process_scorer
    from scoring.images import read_unread_images

    with session_scope(embedded) as s:
        docs = [_doc(f"http://t.test/e{i}", s, body=f"{CLEAN_TEXT}（{i}）") for i in range(2)]
        save_version_images(s, docs[0].current_version_id, [ImageIn("http://t.test/e.png", PITCH_POSTER)])
        ids = [d.id for d in docs]
    scorer = process_scorer(get_settings())
    score_document_ids(embedded, ids, scorer)  # what adscreen demo does: the text first, in-process
    result = read_unread_images(get_settings(), scorer)
    assert (result.versions, result.images_read, result.flagged) == (1, 1, 1)
    assert read_unread_images(get_settings(), scorer).versions == 0
    with session_scope(embedded) as s:
        assert s.scalar(select(Flag.document_id)) == ids[0]
