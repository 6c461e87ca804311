"""The case page shows a case's images with their OCR lines, the boxes of the hits found in them (server-drawn SVG
rects, matched characters equal to the hits'), QR payloads as inert text; images are served only to their case."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.app import create_app
from review.users import create_user
from store.db import session_scope
from store.images import ImageIn, save_version_images
from store.models import Flag
from tests.review_fixtures import PASSWORD
from tests.test_images_pipeline import PITCH_POSTER, QR_POSTER, _doc


def test_case_page_draws_the_hits_on_the_image_and_lists_qr_as_text(embedded, tmp_path):
    from worker.dispatch import send

    with session_scope(embedded) as s:
        a = _doc("http://t.test/poster", s)
        save_version_images(s, a.current_version_id, [ImageIn("http://t.test/p.png", PITCH_POSTER)])
        b = _doc("http://t.test/qr", s, title="康乐园开放参观", body="康乐园即日起开放参观，详情请扫描图片中的二维码。")
        save_version_images(s, b.current_version_id, [ImageIn("http://t.test/qr.png", QR_POSTER)])
        create_user(s, "insp", PASSWORD, "inspector")
        ids = (a.id, b.id)
    send("adscreen.score_batch", list(ids))
    with session_scope(embedded) as s:
        flag = s.scalar(select(Flag).where(Flag.document_id == ids[0]))
        ocr_hits = {h["matched"] for h in flag.verdict.hits if h.get("field") == "ocr"}
        fid = flag.id
        other = s.scalar(select(Flag).where(Flag.document_id == ids[1]))
    assert ocr_hits, "the poster's pitch was not found"
    c = TestClient(create_app(embedded, lexicon_dir=tmp_path / "lexicon"))
    assert c.post("/api/v1/auth/login", json={"username": "insp", "password": PASSWORD}).status_code == 200
    page = c.get(f"/cases/{fid}").text
    drawn = set(re.findall(r'<rect class="hit-box"[^>]* data-matched="([^"]*)"', page))
    assert drawn and drawn <= ocr_hits  # every box drawn is a hit of the image text
    image_ids = re.findall(rf'href="/cases/{fid}/images/(\d+)"', page)
    assert len(image_ids) == 1
    r = c.get(f"/cases/{fid}/images/{image_ids[0]}")
    assert r.status_code == 200 and r.content == PITCH_POSTER and r.headers["content-type"] == "image/png"
    assert "sandbox" in r.headers["content-security-policy"] and r.headers["x-content-type-options"] == "nosniff"
    assert other is not None  # the QR case: its payload is shown as text, never as a link; its image is not ours
    if other is not None:
        qpage = c.get(f"/cases/{other.id}").text
        assert "kangle-yanglao.example.cn/join?ref=A88" in qpage and 'href="https://kangle-yanglao' not in qpage
        qid = re.findall(rf'href="/cases/{other.id}/images/(\d+)"', qpage)[0]
        assert c.get(f"/cases/{fid}/images/{qid}").status_code == 404
    assert c.get(f"/cases/{fid}/images/{2**40}").status_code == 404


def test_evidence_sheet_and_referral_package_carry_the_images(embedded, tmp_path):
    import hashlib
    import io
    import json
    import zipfile

    from worker.dispatch import send

    with session_scope(embedded) as s:
        a = _doc("http://t.test/poster2", s)
        save_version_images(s, a.current_version_id, [ImageIn("http://t.test/p2.png", PITCH_POSTER)])
        create_user(s, "insp", PASSWORD, "inspector")
        doc_id = a.id
    send("adscreen.score_batch", [doc_id])
    with session_scope(embedded) as s:
        fid = s.scalar(select(Flag.id).where(Flag.document_id == doc_id))
    c = TestClient(create_app(embedded, lexicon_dir=tmp_path / "lexicon"))
    r = c.post("/api/v1/auth/login", json={"username": "insp", "password": PASSWORD})
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    sha = hashlib.sha256(PITCH_POSTER).hexdigest()
    sheet = c.get(f"/cases/{fid}/evidence").text
    assert sha in sheet and "data:image/png;base64," in sheet and "图片文字" in sheet
    assert c.post(f"/api/v1/cases/{fid}/claim").status_code == 200
    assert c.post(f"/api/v1/cases/{fid}/decision", json={"action": "confirm"}).status_code == 200
    r = c.post("/api/v1/referrals/export", json={"flag_ids": [fid]})
    assert r.status_code == 200, r.text[:300]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    (name,) = [n for n in z.namelist() if n.startswith("images/")]
    assert z.read(name) == PITCH_POSTER and sha[:12] in name
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["files"][name] == sha
    (record,) = json.loads(z.read("referrals.json"))
    assert record["images"][0]["sha256"] == sha and record["ocr_text"]
