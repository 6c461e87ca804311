"""Images through real Celery workers on the real Redis and PostgreSQL: the text worker scores the batch and sends
the images task to the ``<queue>.images`` queue, which only the images worker consumes; that worker's OCR verdict
flags a document whose text is clean but whose poster is a pitch."""

from __future__ import annotations

from sqlalchemy import select

from store.db import session_scope
from store.documents import DocumentIn, save_document
from store.images import ImageIn, save_version_images
from store.models import Flag, Verdict, VersionOCR
from tests.workers import REPO_ROOT, WorkerProcess, client, wait_for, worker_env

POSTER = (REPO_ROOT / "demo_site" / "data" / "posters" / "p10020-jijiying.png").read_bytes()
CLEAN = "本公司新品上线，具体内容请看下方海报。地址：神火大道中段，欢迎上门咨询。"


def test_the_images_queue_flags_a_clean_text_with_a_pitch_poster(pg_url, redis_url, namespace, tmp_path):
    with session_scope(pg_url) as s:
        doc, _ = save_document(
            s, DocumentIn(url="http://t.test/p", canonical_url="http://t.test/p", title="新品上线 详情见图",
                          text=CLEAN, raw=CLEAN.encode())
        )  # fmt: skip
        save_version_images(s, doc.current_version_id, [ImageIn("http://t.test/p.png", POSTER)])
        doc_id = doc.id
    env = worker_env(pg_url, redis_url, namespace, tmp_path, ADSCREEN_OCR_THREADS="1")
    text = WorkerProcess(env, tmp_path / "text.log", queues=namespace)
    images = WorkerProcess(env, tmp_path / "images.log", queues=f"{namespace}.images")
    try:
        for w in (text, images):
            w.wait_ready()
        client(redis_url).send_task("adscreen.score_batch", args=[[doc_id]], queue=namespace)

        def flagged() -> bool:
            with session_scope(pg_url) as s:
                return s.scalar(select(Flag.id).where(Flag.document_id == doc_id)) is not None

        wait_for(flagged, 120, f"the OCR verdict's flag (see {images.log_path})")
    finally:
        text.stop()
        images.stop()
    assert b"Task adscreen.read_images[" in images.log_path.read_bytes(), "the images task ran on the images worker"
    assert b"Task adscreen.read_images[" not in text.log_path.read_bytes(), "… and never on the text worker"
    assert b"Task adscreen.score_batch[" not in images.log_path.read_bytes()
    with session_scope(pg_url) as s:
        verdicts = list(s.scalars(select(Verdict).where(Verdict.document_id == doc_id).order_by(Verdict.id)))
        assert len(verdicts) == 2 and not verdicts[0].flagged and verdicts[1].flagged
        assert verdicts[1].detector_versions.endswith("+ocr:rapidocr-3.10.0-ppocrv6")
        assert any(h["field"] == "ocr" and h.get("boxes") for h in verdicts[1].hits)
        flag = s.scalar(select(Flag).where(Flag.document_id == doc_id))
        assert flag.verdict_id == verdicts[1].id
        assert "保本保息" in s.scalar(select(VersionOCR.text))
