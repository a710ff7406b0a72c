"""The preview page: Arabic right to left, content escaped, timestamps shown."""

from __future__ import annotations

from hams.api.preview import render_preview
from hams.db.models import Job
from tests.factories import make_job


def previewed(**values) -> Job:
    """A finished Arabic transcription, never stored: the page only reads it."""
    return make_job(None, **{"id": "j1", "status": "COMPLETED", "title": "اجتماع الفريق",
                             "from_lng": "ar", "media_url": "https://cdn.example/a.mp3", **values})


def test_arabic_transcript_reads_right_to_left():
    job = previewed(job_response={"language": "ar", "segments": [
        {"start": 0.0, "end": 65.2, "text": " مرحبا بكم في الاجتماع"}]})
    page = render_preview(job, "/v1/files/jobs/j1/source?expires=1&signature=x")
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    assert "مرحبا بكم في الاجتماع" in page and "00:00–01:05" in page
    assert 'src="/v1/files/jobs/j1/source?expires=1&amp;signature=x"' in page


def test_english_page_and_escaping():
    job = previewed(title="<script>alert(1)</script>", from_lng="en", status="FAILED",
                    error="The media could not be decoded <b>", job_response=None)
    page = render_preview(job)
    assert 'dir="ltr"' in page and "<script>alert" not in page
    assert "&lt;script&gt;" in page and "decoded &lt;b&gt;" in page
    assert 'src="https://cdn.example/a.mp3"' in page
