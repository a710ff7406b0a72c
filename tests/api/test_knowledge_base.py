"""Knowledge base routes in-process on SQLite and PostgreSQL: items of every type processed by
a real worker (real PDF, DOCX, HTML pages served on 127.0.0.1, Arabic text), failures with a
reason, updates, URL removal, ownership, and retrieval quality on a fixed corpus."""

from __future__ import annotations

import io
import os
import time

import docx
import pytest

from hams.db.models import Job, KnowledgeChunk, VoiceAgent, VoiceAgentKnowledgeItem
from hams.errors import EngineUnavailable
from hams.runtime import KnowledgeEmbedder
from hams.services import knowledge_search
from hams.worker.runner import Worker
from tests.conftest import built_runtime
from tests.factories import api_client, load_job
from tests.helpers.kb_corpus import DOCUMENTS, QUESTIONS, text_pdf

PATH = "/v1/voice-agents/knowledge-base"
ARABIC = ("سياسة الإرجاع في متجر الواحة. يمكن إرجاع المنتجات خلال أربعة عشر يوماً من تاريخ "
          "الشراء بشرط الاحتفاظ بالفاتورة الأصلية.\n\n"
          "يعاد المبلغ إلى البطاقة نفسها خلال سبعة أيام عمل. لا تقبل إعادة الملابس الداخلية "
          "والعطور المفتوحة.")
KB_MAX_FILE_BYTES = 256 * 1024
# Same topics as the corpus (tests/helpers/kb_corpus.py), other facts; none holds an answer.
DISTRACTORS: dict[str, str] = {
    # Arabic: the corpus's topics, other facts
    "eye_clinic": (
        "مركز الشفاء لطب العيون يفتح أبوابه من الأحد إلى الخميس، من الساعة الثامنة صباحاً حتى "
        "الرابعة عصراً، ويغلق يومي الجمعة والسبت.\n\n"
        "فحص النظر مجاني للأطفال دون الثانية عشرة. تُصرف النظارات الطبية خلال ثلاثة أيام من "
        "الفحص، ويمكن استلامها من الاستقبال."
    ),
    "pharmacy": (
        "صيدلية الحياة تعمل على مدار الساعة في فرع طريق الملك فهد، وباقي الفروع من السابعة "
        "صباحاً حتى منتصف الليل.\n\n"
        "لا تُصرف المضادات الحيوية إلا بوصفة طبية سارية. يمكن طلب الأدوية عبر التطبيق "
        "وتوصيلها خلال ساعتين داخل المدينة."
    ),
    "city_delivery": (
        "التوصيل داخل المدينة. نوصل الطلبات داخل الرياض وجدة والدمام في اليوم التالي للطلب. "
        "رسوم التوصيل ١٥ ريالاً، ومجاناً لمشتركي باقة بلس.\n\n"
        "يصلك رقم تتبع برسالة نصية عند خروج الطلب من المستودع، ويتصل بك المندوب قبل الوصول."
    ),
    "eid_offers": (
        "عروض عيد الأضحى. خصم عشرين بالمئة على الملابس والعطور طوال أسبوع العيد في جميع "
        "الفروع والموقع الإلكتروني.\n\n"
        "تعمل الفروع في ليلة العيد حتى الثالثة فجراً. لا يمكن الجمع بين عروض العيد وقسائم "
        "الخصم الأخرى."
    ),
    "gift_cards_ar": (
        "بطاقات الهدايا متوفرة بقيم ١٠٠ و٢٥٠ و٥٠٠ ريال، ويمكن إرسالها إلكترونياً برسالة "
        "شخصية.\n\n"
        "صلاحية بطاقة الهدية سنتان من تاريخ الشراء، ولا يمكن استبدالها نقداً. عند ضياع البطاقة "
        "لا يمكن استرجاع رصيدها."
    ),
    "mobile_plans": (
        "باقات الجوال المفوترة. باقة الأساس تشمل عشرين غيغابايت ومكالمات غير محدودة مقابل "
        "٩٩ ريالاً شهرياً.\n\n"
        "يمكن ترقية الباقة في أي وقت من التطبيق، وتطبق الأسعار الجديدة من بداية دورة الفوترة "
        "التالية. التجوال الدولي يفعل برسالة نصية."
    ),
    "tv_service": (
        "خدمة التلفزيون. إذا ظهرت شاشة سوداء فتأكد من توصيل كابل جهاز الاستقبال بالتلفاز ثم "
        "اضغط زر المصدر في جهاز التحكم.\n\n"
        "تضم الباقة الرياضية القنوات الناقلة للدوري مقابل ٦٥ ريالاً شهرياً، ويمكن إلغاؤها قبل "
        "نهاية الشهر دون رسوم."
    ),
    "branch_jobs": (
        "الوظائف في فروعنا. نبحث عن مندوبي مبيعات وأمناء صناديق بدوام كامل وجزئي في المنطقة "
        "الشرقية.\n\n"
        "ترسل السيرة الذاتية عبر صفحة التوظيف، ويتواصل فريق الموارد البشرية مع المرشحين خلال "
        "أسبوعين لتحديد موعد المقابلة."
    ),
    "car_rental": (
        "تأجير السيارات. يشترط لاستئجار سيارة رخصة قيادة سارية وبطاقة ائتمان باسم المستأجر، "
        "وألا يقل عمر السائق عن واحد وعشرين عاماً.\n\n"
        "تسلم السيارة بخزان وقود ممتلئ ويجب إعادتها كذلك، وإلا تحتسب تكلفة الوقود مع رسوم خدمة."
    ),
    "hotel_booking": (
        "حجز الفنادق. يمكن إلغاء الحجز مجاناً قبل ثمانٍ وأربعين ساعة من موعد الوصول، وبعدها "
        "تحتسب قيمة الليلة الأولى.\n\n"
        "تسجيل الدخول من الساعة الثالثة عصراً، والمغادرة قبل الثانية عشرة ظهراً. الإفطار مشمول "
        "في الغرف المطلة على البحر فقط."
    ),
    # English: the corpus's topics, other facts
    "exchange_policy": (
        "Exchanges in store. Clothes and shoes can be exchanged for another size or colour within "
        "14 days at any branch, with the receipt.\n\n"
        "Sale items are exchanged for store credit only. Store credit never expires and can be "
        "used online as well as in branches."
    ),
    "two_step_login": (
        "Two-step verification. When you sign in on a new device we text a six-digit code to "
        "your phone; the code expires after 5 minutes.\n\n"
        "You can switch to an authenticator app under Security settings. If you change your "
        "phone number, update it before removing the old SIM."
    ),
    "repairs_out_of_warranty": (
        "Repairs after the warranty. Devices out of warranty are repaired at a diagnostic fee "
        "of 50 SAR, deducted from the repair price if you go ahead.\n\n"
        "Screen replacements for popular phone models are done the same day at our flagship "
        "service centre; other repairs are quoted before any work starts."
    ),
    "billing": (
        "Monthly billing. Subscriptions are billed on the first day of each month and the "
        "invoice is emailed to the account owner.\n\n"
        "A late fee of 10 SAR applies when a bill is unpaid after 14 days. You can download "
        "past bills as PDF from the Billing page."
    ),
    "privacy_notice": (
        "Privacy notice. We collect your name, contact details and order history to deliver "
        "orders and improve our service, and we never sell personal data.\n\n"
        "You can unsubscribe from marketing emails with the link at the bottom of every "
        "message. Cookies for analytics can be turned off in the cookie banner."
    ),
    "order_tracking": (
        "Tracking an order. Once your parcel ships, the tracking number appears under My "
        "Orders and in the shipping email.\n\n"
        "If the courier could not deliver, they try again the next working day; after three "
        "failed attempts the parcel is returned to our warehouse."
    ),
    "store_events": (
        "Store events. Our flagship store hosts free cooking workshops every Saturday morning; "
        "places are limited to twenty people.\n\n"
        "Book a place in the app under Events. Children under twelve must come with an adult."
    ),
    "careers_en": (
        "Careers. We hire customer service agents who speak Arabic and English for our Riyadh "
        "contact centre, with day and night shifts.\n\n"
        "Apply on the careers page with your CV; shortlisted candidates take a short online "
        "assessment before the interview."
    ),
    "store_wifi": (
        "Wi-Fi in our branches. Every branch offers free Wi-Fi; the network name is on the sign "
        "at the entrance and the password is printed on your receipt.\n\n"
        "A session lasts one hour and can be renewed at the cashier. Video streaming is blocked "
        "to keep the connection fast for everyone."
    ),
    "newsletter": (
        "Our newsletter. Subscribers hear about new collections and private sales a day before "
        "everyone else, once a week at most.\n\n"
        "Choose the topics you care about in your profile; we send nothing on public holidays."
    ),
}


@pytest.fixture
def runtime(database_url, tmp_path):
    # bodies up to 2 MiB, so a multipart file over HAMS_KB_MAX_FILE_BYTES reaches the service
    with built_runtime(tmp_path, database_url=database_url, max_body_bytes=2 * 1024 * 1024,
                       kb_max_file_bytes=KB_MAX_FILE_BYTES, kb_max_urls_per_item=3) as rt:
        yield rt


def run_queued(runtime) -> int:
    """Run every runnable job in this thread; how many ran."""
    worker = Worker(runtime)
    ran = 0
    while worker.run_once():
        ran += 1
    return ran


def create(api, *items, status=200) -> list[dict]:
    answer = api.post(PATH, json={"items": list(items)})
    assert answer.status_code == status, answer.text
    return answer.json()["data"] if status == 200 else answer.json()


def upload(api, *files: tuple[str, bytes, str], names: list[str] | None = None) -> list[dict]:
    answer = api.post(PATH, files=[("file", file) for file in files],
                      data={"itemName": names} if names else None)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def get(api, item_id: str) -> dict:
    answer = api.get(f"{PATH}/{item_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


CONVEX_AT_1, CONVEX_AT_3 = 16, 26  # measured 17 and 27 of 30 (RRF: 14 and 26)


def search(api, query: str, **body) -> list[dict]:
    answer = api.post(f"{PATH}/search", json={"query": query, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["results"]


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def chunks_of(runtime, item_id: str) -> list[KnowledgeChunk]:
    with runtime.db.session() as session:
        return session.query(KnowledgeChunk).filter_by(item_id=item_id).order_by(
            KnowledgeChunk.position).all()


def test_arabic_text_item_is_processed_by_a_knowledge_base_job(api, runtime):
    [item] = create(api, {"itemName": "سياسة الإرجاع", "type": "TEXT", "content": ARABIC})
    assert item["status"] == "PROCESSING" and item["type"] == "TEXT" and item["jobId"]
    assert item["projectId"] == api.principal.project_id and item["used"] is False
    assert item["content"] == ARABIC and item["itemUrls"] == [] and item["isActive"] is True
    assert item["fileSizeBytes"] == len(ARABIC.encode()) and item["extension"] == "txt"

    assert run_queued(runtime) == 1
    done = get(api, item["id"])
    assert done["status"] == "PROCESSED" and done["failureReason"] is None
    assert done["wordsNumber"] == len(ARABIC.split())
    assert done["fileSize"].endswith("B") and done["fileSize"][0].isdigit()
    job = api.get("/v1/jobs", params={"jobId": item["jobId"]}).json()["data"]
    assert job["type"] == "KNOWLEDGE_BASE" and job["status"] == "COMPLETED"
    assert job["jobResponse"]["itemId"] == item["id"] and job["jobResponse"]["chunks"] >= 1

    [best, *_] = search(api, "كم يوماً لدي لإرجاع منتج؟")
    assert best["itemId"] == item["id"] and "أربعة عشر يوماً" in best["text"]
    assert best["itemName"] == "سياسة الإرجاع" and best["source"] is None
    assert best["score"] > 0 and best["chunkId"] > 0 and best["position"] >= 0


def test_pdf_docx_and_markdown_uploads_are_processed(api, runtime):
    pdf = text_pdf(["The cafeteria opens at seven thirty in the morning on weekdays.",
                    "Parking permits are renewed every January at the front desk."])
    word = docx_bytes("Quarterly report", "The blue team closed forty tickets in March.")
    markdown = b"# Shuttle\n\nThe **airport shuttle** leaves every *twenty* minutes."
    items = upload(api, ("handbook.pdf", pdf, "application/pdf"),
                   ("report.docx", word, "application/octet-stream"),
                   ("shuttle.md", markdown, "text/markdown"), names=["Handbook"])
    assert [i["itemName"] for i in items] == ["Handbook", "report.docx", "shuttle.md"]
    assert [i["extension"] for i in items] == ["pdf", "docx", "md"]
    assert [i["fileSizeBytes"] for i in items] == [len(pdf), len(word), len(markdown)]
    assert all(i["type"] == "FILE" and i["status"] == "PROCESSING" for i in items)

    assert run_queued(runtime) == 3
    for item in items:
        done = get(api, item["id"])
        assert done["status"] == "PROCESSED", done
        assert done["wordsNumber"] > 5
    assert "renewed every January" in search(api, "when do parking permits renew")[0]["text"]
    assert "forty tickets" in search(api, "how many tickets did the blue team close")[0]["text"]
    [hit, *_] = search(api, "how often does the airport shuttle leave")
    assert "every twenty minutes" in hit["text"] and "**" not in hit["text"]
    assert hit["source"] == "shuttle.md"


def test_a_file_that_cannot_be_read_fails_its_item_with_a_reason(api, runtime):
    [bad] = upload(api, ("scan.pdf", os.urandom(4000), "application/pdf"))
    [fine] = create(api, {"type": "TEXT", "content": "Opening hours are nine to five."})
    assert run_queued(runtime) == 2
    failed = get(api, bad["id"])
    assert failed["status"] == "FAILED" and "PDF" in failed["failureReason"]
    job = load_job(runtime, bad["jobId"])
    assert job.status == "FAILED" and job.attempts == 1  # bad input: not retried
    assert job.error == failed["failureReason"]
    assert chunks_of(runtime, bad["id"]) == []
    assert get(api, fine["id"])["status"] == "PROCESSED"
    assert {hit["itemId"] for hit in search(api, "opening hours pdf")} == {fine["id"]}


def test_url_pages_are_fetched_and_one_can_be_removed(api, runtime, media_server):
    hours = media_server.add_file("kb-hours.html", (
        b"<html><head><title>Hours</title></head><body><nav>Home | Shop</nav><article>"
        b"<h1>Store hours</h1><p>The downtown store is open from ten in the morning until "
        b"ten at night, every day except public holidays.</p></article></body></html>"
    ))
    arabic = media_server.add_file("kb-delivery", (
        "<!DOCTYPE html><html lang='ar'><body><main><p>التوصيل مجاني داخل مدينة الرياض "
        "للطلبات التي تتجاوز مئتي ريال.</p></main></body></html>").encode())
    [item] = create(api, {"itemName": "Website", "type": "URL",
                          "itemUrls": [hours, arabic, hours]})
    assert item["itemUrls"] == [hours, arabic] and item["itemUrl"] == hours
    assert run_queued(runtime) == 1
    done = get(api, item["id"])
    assert done["status"] == "PROCESSED" and done["extension"] == "html", done
    assert {c.source for c in chunks_of(runtime, item["id"])} == {hours, arabic}
    assert not any("Home | Shop" in c.text for c in chunks_of(runtime, item["id"]))

    [hit, *_] = search(api, "هل التوصيل مجاني في الرياض؟")
    assert hit["source"] == arabic and "مئتي ريال" in hit["text"]
    assert search(api, "store opening time")[0]["source"] == hours

    removed = api.request("DELETE", f"{PATH}/{item['id']}/url", json={"url": arabic})
    assert removed.status_code == 200, removed.text
    assert removed.json()["messageKey"] == "URL_DELETED_SUCCESSFULLY"
    assert removed.json()["data"]["itemUrls"] == [hours]
    assert {c.source for c in chunks_of(runtime, item["id"])} == {hours}
    assert removed.json()["data"]["wordsNumber"] < done["wordsNumber"]
    assert all(hit["source"] == hours for hit in search(api, "التوصيل مجاني في الرياض"))
    again = api.request("DELETE", f"{PATH}/{item['id']}/url", json={"url": arabic})
    assert again.status_code == 404
    last = api.request("DELETE", f"{PATH}/{item['id']}/url", json={"url": hours})
    assert last.status_code == 400 and "delete the item" in last.json()["message"]
    assert get(api, item["id"])["itemUrls"] == [hours]  # nothing removed
    assert {c.source for c in chunks_of(runtime, item["id"])} == {hours}


def test_a_page_that_answers_404_fails_the_item_until_sent_again(api, runtime, media_server):
    name = f"kb-missing-{api.principal.project_id}.html"
    [item] = create(api, {"type": "URL", "itemUrl": media_server.url(name)})
    assert item["itemName"] == media_server.url(name)
    run_queued(runtime)
    failed = get(api, item["id"])
    assert failed["status"] == "FAILED" and "HTTP 404" in failed["failureReason"]
    assert media_server.url(name) in failed["failureReason"]
    assert load_job(runtime, item["jobId"]).attempts == 1

    media_server.add_file(name, b"<html><body><p>Back online since Tuesday.</p></body></html>")
    again = api.patch(f"{PATH}/{item['id']}", json={"itemUrls": [media_server.url(name)]})
    assert again.json()["data"]["status"] == "PROCESSING"  # the same pages, sent again
    run_queued(runtime)
    assert get(api, item["id"])["status"] == "PROCESSED"


def test_file_items_from_an_upload_or_a_file_url(api, runtime, media_server):
    word = docx_bytes("Gate B closes twenty minutes before departure.")
    media = api.post("/v1/media", files={"file": ("gates.docx", word, "application/zip")})
    assert media.status_code == 200, media.text
    page = media_server.add_file("kb-notes.txt", b"Lost luggage is kept for ninety days.")
    [from_upload, from_url] = create(
        api, {"type": "FILE", "itemUrl": media.json()["data"]["mediaUrl"]},
        {"type": "FILE", "itemUrl": page, "itemName": "Notes"})
    assert from_upload["itemName"] == "gates.docx" and from_upload["extension"] == "docx"
    assert from_upload["fileSizeBytes"] == len(word)
    assert from_url["extension"] == "txt" and from_url["fileSizeBytes"] is None
    assert run_queued(runtime) == 2
    assert get(api, from_upload["id"])["status"] == "PROCESSED"
    fetched = get(api, from_url["id"])
    assert fetched["status"] == "PROCESSED" and fetched["fileSizeBytes"] == 37
    assert "ninety days" in search(api, "how long is lost luggage kept")[0]["text"]

    with api_client(runtime) as other:  # another project's upload is not found
        answer = other.post(PATH, json={"items": [
            {"type": "FILE", "itemUrl": media.json()["data"]["mediaUrl"]}]})
        assert answer.status_code == 404


def test_creation_refuses_what_it_cannot_process(api, runtime):
    def refused(items, status, key=None):
        answer = api.post(PATH, json={"items": items})
        assert answer.status_code == status, answer.text
        if key:
            assert answer.json()["messageKey"] == key
        return answer.json()

    refused([], 400, "VALIDATION_ERROR")
    refused([{"type": "AUDIO", "content": "x"}], 400, "VALIDATION_ERROR")
    body = refused([{"type": "TEXT", "content": "   "}], 400, "VALIDATION_ERROR")
    assert body["data"][0]["field"] == "items.0.content"
    refused([{"type": "URL"}], 400, "VALIDATION_ERROR")
    refused([{"type": "URL", "itemUrls": [f"http://127.0.0.1/{i}" for i in range(4)]}], 400)
    refused([{"type": "URL", "itemUrls": ["ftp://example.com/a"]}], 400, "URL_REFUSED")
    refused([{"type": "FILE"}], 400, "VALIDATION_ERROR")
    refused([{"type": "TEXT", "content": "ok"}, {"type": "FILE", "itemUrl": "file:///etc"}],
            400, "URL_REFUSED")
    assert api.post(PATH, content=b"{not json").status_code == 400

    sound = api.post(PATH, files={"file": ("voice.mp3", b"ID3....", "audio/mpeg")})
    assert sound.status_code == 415 and ".mp3" in sound.json()["message"]
    big = api.post(PATH, files={"file": ("big.txt", b"a " * KB_MAX_FILE_BYTES, "text/plain")})
    assert big.status_code == 413 and "HAMS_KB_MAX_FILE_BYTES" in big.json()["message"]
    empty = api.post(PATH, files={"file": ("empty.txt", b"", "text/plain")})
    assert empty.status_code == 400
    not_a_file = api.post(PATH, data={"itemName": "x", "file": "text"},
                          files={"other": ("a.txt", b"a", "text/plain")})
    assert not_a_file.status_code == 400
    with runtime.db.session() as session:  # nothing half-made stays behind
        assert session.query(Job).filter_by(type="KNOWLEDGE_BASE").count() == 0
    listed = api.get(f"{PATH}/list").json()["data"]
    assert listed["total"] == 0 and listed["items"] == []
    blobs = runtime.storage.path_for(f"knowledge/{api.principal.project_id}/x").parent
    assert not blobs.exists() or not any(blobs.rglob("*.*"))


def test_an_update_processes_again_and_old_chunks_answer_meanwhile(api, runtime):
    [item] = create(api, {"itemName": "Menu", "type": "TEXT",
                          "content": "The soup of the day is tomato."})
    run_queued(runtime)
    renamed = api.patch(f"{PATH}/{item['id']}", json={"itemName": "Lunch menu"}).json()["data"]
    assert renamed["status"] == "PROCESSED" and renamed["jobId"] == item["jobId"]

    answer = api.patch(f"{PATH}/{item['id']}", json={"content": "The soup is lentil."})
    assert answer.status_code == 200 and answer.json()["messageKey"].endswith("Successfully")
    first = answer.json()["data"]
    assert first["status"] == "PROCESSING" and first["jobId"] != item["jobId"]
    latest = api.patch(f"{PATH}/{item['id']}",
                       json={"content": "The soup of the day is lentil."}).json()["data"]
    assert "tomato" in search(api, "which soup")[0]["text"]  # the previous chunks, meanwhile

    assert run_queued(runtime) == 2
    assert load_job(runtime, first["jobId"]).job_response["skipped"]  # superseded
    done = get(api, item["id"])
    assert done["status"] == "PROCESSED" and done["jobId"] == latest["jobId"]
    assert [c.text for c in chunks_of(runtime, item["id"])] == ["The soup of the day is lentil."]

    assert api.patch(f"{PATH}/{item['id']}", json={"itemUrls": ["http://x.test/"]}
                     ).status_code == 400  # a TEXT item has no pages
    off = api.patch(f"{PATH}/{item['id']}", json={"isActive": False}).json()["data"]
    assert off["isActive"] is False and search(api, "which soup") == []
    assert search(api, "which soup", itemIds=[item["id"]]) == []


def test_search_reads_chunks_once_and_follows_every_change(api, runtime, monkeypatch):
    """The project's index is read once, then reused until the database says otherwise:
    chunks added, replaced (SQLite reuses the deleted largest chunk id), an item switched off
    and on, deleted; a rename or an item queued again keeps it (the names are read fresh)."""
    loads = []
    load = knowledge_search._load
    monkeypatch.setattr(knowledge_search, "_load", lambda *a, **k: loads.append(1) or load(*a, **k))
    [other] = create(api, {"itemName": "Parking", "type": "TEXT",
                           "content": "Guests park for free behind the hotel."})
    [menu] = create(api, {"itemName": "Menu", "type": "TEXT",
                          "content": "The soup of the day is tomato."})
    run_queued(runtime)

    def best(query: str, **body) -> dict | None:
        hits = search(api, query, **body)
        return hits[0] if hits else None

    assert "tomato" in best("which soup")["text"] and len(loads) == 1
    assert "park for free" in best("where do guests park")["text"] and len(loads) == 1
    api.patch(f"{PATH}/{menu['id']}", json={"itemName": "Lunch menu"})
    assert best("which soup")["itemName"] == "Lunch menu" and len(loads) == 1
    [old_chunk] = chunks_of(runtime, menu["id"])
    api.patch(f"{PATH}/{menu['id']}", json={"content": "The soup of the day is lentil."})
    assert "tomato" in best("which soup")["text"] and len(loads) == 1  # queued again

    run_queued(runtime)
    [new_chunk] = chunks_of(runtime, menu["id"])
    assert new_chunk.id == old_chunk.id or runtime.db.engine.dialect.name == "postgresql"
    assert "lentil" in best("which soup")["text"] and len(loads) == 2
    api.patch(f"{PATH}/{menu['id']}", json={"isActive": False})
    assert best("which soup", itemIds=[menu["id"]]) is None
    api.patch(f"{PATH}/{menu['id']}", json={"isActive": True})
    assert "lentil" in best("which soup", itemIds=[menu["id"]])["text"]
    assert best("which soup", itemIds=[other["id"]])["itemId"] == other["id"]
    api.delete(f"{PATH}/{other['id']}")
    assert {hit["itemId"] for hit in search(api, "where do guests park")} <= {menu["id"]}
    assert len(loads) == 5


def test_an_item_that_would_pass_the_projects_chunk_limit_fails(database_url, tmp_path):
    paragraphs = ["Paragraph {n}: " + "the shuttle timetable changes in winter. " * 4] * 3
    three = "\n\n".join(p.format(n=n) for n, p in enumerate(paragraphs))  # 3 chunks of 200
    with built_runtime(tmp_path, database_url=database_url, kb_chunk_chars=200,
                       kb_max_chunks_per_project=4) as runtime, api_client(runtime) as api:
        [first] = create(api, {"type": "TEXT", "content": three})
        run_queued(runtime)
        assert get(api, first["id"])["status"] == "PROCESSED"
        assert len(chunks_of(runtime, first["id"])) == 3
        [second, third] = create(api, {"type": "TEXT", "content": three[:400]},
                                 {"type": "TEXT", "content": "One short chunk."})
        run_queued(runtime)
        failed = get(api, second["id"])
        assert failed["status"] == "FAILED", failed
        assert "HAMS_KB_MAX_CHUNKS_PER_PROJECT" in failed["failureReason"]
        assert "limit is 4" in failed["failureReason"]
        job = load_job(runtime, second["jobId"])
        assert job.status == "FAILED" and job.attempts == 1 and job.error == failed["failureReason"]
        assert chunks_of(runtime, second["id"]) == []
        assert get(api, third["id"])["status"] == "PROCESSED"  # 3 + 1: it fits
        again = api.patch(f"{PATH}/{first['id']}", json={"content": three + " More."})
        assert again.status_code == 200
        run_queued(runtime)  # its own previous chunks make room for the new ones
        assert get(api, first["id"])["status"] == "PROCESSED"
        with api_client(runtime) as other:  # the limit is per project
            [elsewhere] = create(other, {"type": "TEXT", "content": three})
            run_queued(runtime)
            assert get(other, elsewhere["id"])["status"] == "PROCESSED"


def test_list_search_takes_percent_and_underscore_literally(api, runtime):
    for name in ("Sale 50% off", "Sale 500 offers", "price_list", "price-list", "back\\slash"):
        create(api, {"itemName": name, "type": "TEXT", "content": "x"})

    def names(search: str) -> list[str]:
        answer = api.get(f"{PATH}/list", params={"search": search})
        assert answer.status_code == 200, answer.text
        return sorted(item["itemName"] for item in answer.json()["data"]["items"])

    assert names("50%") == ["Sale 50% off"]
    assert names("price_") == ["price_list"]
    assert names("%") == ["Sale 50% off"]
    assert names("\\") == ["back\\slash"]
    assert names("sale") == ["Sale 50% off", "Sale 500 offers"]


def test_another_projects_item_is_not_found(api, runtime):
    [item] = create(api, {"type": "TEXT", "content": "Private notes about the launch."})
    run_queued(runtime)
    with api_client(runtime) as other:
        assert other.get(f"{PATH}/{item['id']}").status_code == 404
        assert other.patch(f"{PATH}/{item['id']}", json={"isActive": False}).status_code == 404
        assert other.delete(f"{PATH}/{item['id']}").status_code == 404
        assert other.request("DELETE", f"{PATH}/{item['id']}/url",
                             json={"url": "http://x.test/"}).status_code == 404
        assert other.post(f"{PATH}/search", json={"query": "launch",
                                                  "itemIds": [item["id"]]}).status_code == 404
        assert other.post(f"{PATH}/search", json={"query": "launch notes"}).json()[
            "data"]["results"] == []
        assert other.get(f"{PATH}/list").json()["data"]["total"] == 0
    assert get(api, item["id"])["isActive"] is True


def test_list_filters_pages_and_used(api, runtime):
    made = [create(api, {"itemName": f"Doc {n}", "type": "TEXT", "content": f"text {n}"})[0]
            for n in range(3)]
    [url_item] = create(api, {"itemName": "Site", "type": "URL",
                              "itemUrls": ["http://127.0.0.1:1/a"]})
    with runtime.db.session() as session:
        agent = VoiceAgent(project_id=api.principal.project_id, name="Support")
        session.add(agent)
        session.flush()
        session.add(VoiceAgentKnowledgeItem(agent_id=agent.id, item_id=made[1]["id"]))
    api.patch(f"{PATH}/{made[2]['id']}", json={"isActive": False})

    def listed(**params):
        answer = api.get(f"{PATH}/list", params=params)
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        return data["total"], data["filtered"], [i["itemName"] for i in data["items"]]

    assert listed() == (4, 4, ["Site", "Doc 2", "Doc 1", "Doc 0"])
    assert listed(skip="2", take="3") == (4, 4, ["Doc 0"])
    assert listed(skip=0, take=1) == (4, 4, ["Site"])
    assert listed(used="true") == (4, 1, ["Doc 1"])
    assert listed(used="false")[1] == 3
    assert listed(voiceAgentId=agent.id) == (4, 1, ["Doc 1"])
    assert listed(isActive="false") == (4, 1, ["Doc 2"])
    assert listed(type="URL") == (4, 1, ["Site"])
    assert listed(**{"type[]": ["URL", "TEXT"]})[1] == 4
    assert listed(search="doc 0") == (4, 1, ["Doc 0"])
    assert get(api, made[1]["id"])["used"] is True
    assert api.get(f"{PATH}/list", params={"type": "AUDIO"}).status_code == 400
    assert api.get(f"{PATH}/list", params={"take": 0}).status_code == 400
    assert url_item["status"] == "PROCESSING"


def test_delete_removes_the_item_its_chunks_and_its_file(api, runtime):
    [item] = upload(api, ("notes.txt", b"Remember the milk.", "text/plain"))
    run_queued(runtime)
    assert chunks_of(runtime, item["id"])
    blob = runtime.storage.path_for(f"knowledge/{api.principal.project_id}/{item['id']}")
    assert any(blob.iterdir())
    answer = api.delete(f"{PATH}/{item['id']}")
    assert answer.status_code == 200 and answer.json()["data"] == {"id": item["id"]}
    assert api.get(f"{PATH}/{item['id']}").status_code == 404
    assert chunks_of(runtime, item["id"]) == [] and not blob.exists()
    assert api.delete(f"{PATH}/{item['id']}").status_code == 404


def test_a_job_for_a_deleted_item_completes_without_work(api, runtime):
    [item] = create(api, {"type": "TEXT", "content": "Short-lived."})
    api.delete(f"{PATH}/{item['id']}")
    assert run_queued(runtime) == 1
    job = load_job(runtime, item["jobId"])
    assert job.status == "COMPLETED" and job.job_response["skipped"]


def test_search_modes(api, runtime):
    [item] = create(api, {"type": "TEXT", "content": DOCUMENTS["refund_policy"]})
    run_queued(runtime)
    for mode in ("bm25", "vector", "hybrid"):
        answer = api.post(f"{PATH}/search", json={"query": "refund to my card", "mode": mode,
                                                  "topK": 2}).json()["data"]
        assert answer["mode"] == mode and 1 <= len(answer["results"]) <= 2
        hit = answer["results"][0]
        assert (hit["bm25Score"] is None) == (mode == "vector")
        assert (hit["vectorScore"] is None) == (mode == "bm25")
        assert hit["vectorScore"] is None or hit["vectorScore"] > 0.1  # the stored vectors read
    assert api.post(f"{PATH}/search", json={"query": "x", "topK": 51}).status_code == 400
    assert api.post(f"{PATH}/search", json={"query": ""}).status_code == 400
    none = KnowledgeEmbedder(enabled=False)  # HAMS_KB_EMBEDDINGS off, or not installed
    with pytest.raises(EngineUnavailable):
        knowledge_search.search(runtime.db, api.principal,
                                knowledge_search.SearchQuery("refund", mode="vector"),
                                settings=runtime.settings, embedder=none)
    assert knowledge_search.search(runtime.db, api.principal,
                                   knowledge_search.SearchQuery("refund"),
                                   settings=runtime.settings, embedder=none).mode == "bm25"
    assert item["id"]


def test_retrieval_recall_on_the_fixed_corpus_among_distractors(database_url, tmp_path):
    """The corpus's documents and 20 distractors on the same topics with other facts (another
    clinic's days, another delivery fee, another login code's life) as TEXT items, cut into
    chunks of at most 200 characters: 64 chunks, of which 25 are the corpus's. A question is
    answered when a chunk of its document holding the answer ranks first (recall@1) or in the
    top 3 (recall@3). Measured, hybrid (the default), on SQLite and PostgreSQL alike: recall@1
    14/30, recall@3 26/30; the thresholds leave one question of slack. (Vector alone: 15 and
    27; BM25 alone: 9 and 15. Without the distractors: 18 and 29.)"""
    with built_runtime(tmp_path, database_url=database_url, kb_chunk_chars=200) as runtime, \
            api_client(runtime) as api:
        documents = {**DOCUMENTS, **DISTRACTORS}
        items = create(api, *({"itemName": key, "type": "TEXT", "content": text}
                              for key, text in documents.items()))
        assert run_queued(runtime) == len(documents)
        assert all(get(api, item["id"])["status"] == "PROCESSED" for item in items)
        with runtime.db.session() as session:
            assert session.query(KnowledgeChunk).filter_by(
                project_id=api.principal.project_id).count() == 64
        found = {}
        for fusion in ("rrf", "convex"):
            started = time.perf_counter()
            first = top3 = 0
            misses = []
            for question, document, answer in QUESTIONS:
                hits = search(api, question, topK=3, fusion=fusion)
                ranks = [rank for rank, hit in enumerate(hits)
                         if answer in hit["text"] and hit["itemName"] == document]
                first += ranks[:1] == [0]
                top3 += bool(ranks)
                if not ranks:
                    misses.append(question)
            found[fusion] = (first, top3, misses)
            print(f"{fusion}: recall@1 {first}/{len(QUESTIONS)}, recall@3 {top3}/"
                  f"{len(QUESTIONS)}, {(time.perf_counter() - started) / len(QUESTIONS) * 1000:.0f}"
                  " ms per search")
    assert len(QUESTIONS) == 30
    first, top3, misses = found["rrf"]
    assert first >= 13 and top3 >= 25, misses
    first, top3, misses = found["convex"]
    assert first >= CONVEX_AT_1 and top3 >= CONVEX_AT_3, misses


def test_an_item_whose_job_was_cancelled_or_deleted_fails(api, runtime):
    [cancelled, deleted] = create(api, {"type": "TEXT", "content": "One."},
                                  {"type": "TEXT", "content": "Two."})
    assert api.post(f"/v1/jobs/{cancelled['jobId']}/cancel").status_code == 200
    assert api.delete(f"/v1/jobs/{deleted['jobId']}").status_code == 200
    assert get(api, cancelled["id"])["failureReason"] == "Job was cancelled"
    listed = api.get(f"{PATH}/list").json()["data"]["items"]
    assert sorted((i["status"], i["failureReason"]) for i in listed) == [
        ("FAILED", "Job was cancelled"), ("FAILED", "The item's processing job was deleted")]
    assert run_queued(runtime) == 0
