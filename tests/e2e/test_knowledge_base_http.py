"""The knowledge base on a real `hams serve` (its own worker threads, the sentence encoder loaded
in that process): files sent as multipart, a page served on 127.0.0.1 and an Arabic text are
processed and then found by a search in either language."""

from __future__ import annotations

import io

import docx

from tests.helpers.server import ServerProcess, wait_for_job

PATH = "/v1/voice-agents/knowledge-base"


def test_items_are_processed_and_found_over_http(server: ServerProcess, media_server):
    document = docx.Document()
    document.add_paragraph("The museum is closed on Mondays and opens at nine on other days.")
    word = io.BytesIO()
    document.save(word)
    page = media_server.add_file("kb-e2e-parking.html", (
        b"<html><body><article><p>Visitors park for free in the underground garage for up "
        b"to three hours.</p></article></body></html>"))
    with server.client() as client:
        files = client.post(PATH, files=[("file", ("museum.docx", word.getvalue(),
                                                   "application/octet-stream"))])
        assert files.status_code == 200, files.text
        texts = client.post(PATH, json={"items": [
            {"itemName": "المقهى", "type": "TEXT",
             "content": "يقدم مقهى المتحف القهوة العربية والتمر مجاناً لكل زائر."},
            {"itemName": "Parking", "type": "URL", "itemUrls": [page]}]})
        assert texts.status_code == 200, texts.text
        items = [*files.json()["data"], *texts.json()["data"]]
        for item in items:
            job = wait_for_job(client, item["jobId"])["data"]
            assert job["type"] == "KNOWLEDGE_BASE" and job["status"] == "COMPLETED", job
            read = client.get(f"{PATH}/{item['id']}").json()["data"]
            assert read["status"] == "PROCESSED" and read["wordsNumber"] > 5, read

        def best(query: str) -> dict:
            answer = client.post(f"{PATH}/search", json={"query": query, "topK": 3})
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["mode"] == "hybrid"  # the encoder is installed
            return answer.json()["data"]["results"][0]

        assert "closed on Mondays" in best("Which day is the museum shut?")["text"]
        assert best("where can I leave my car")["source"] == page
        coffee = best("هل القهوة مجانية في المقهى؟")
        assert coffee["itemName"] == "المقهى" and coffee["vectorScore"] is not None
        listed = client.get(f"{PATH}/list", params={"take": 100}).json()["data"]
        assert {item["id"] for item in items} <= {item["id"] for item in listed["items"]}

        parking = next(item for item in items if item["itemName"] == "Parking")
        assert client.delete(f"{PATH}/{parking['id']}").status_code == 200
        assert best("where can I leave my car")["itemId"] != parking["id"]  # not a cached one
