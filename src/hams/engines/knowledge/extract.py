"""Plain text out of knowledge-base uploads and fetched pages, through maintained parsers
(pypdf, python-docx, trafilatura), with a human reason for every file that cannot be read.

The output keeps paragraphs apart with a blank line, which is where ``chunk_text`` prefers to
cut. Work is bounded: the input's size, a DOCX's unpacked size, a PDF's page count and the
text's length all have limits, so one hostile upload cannot hold a worker for long.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import docx
import pypdf
import trafilatura
from docx.table import Table
from trafilatura.utils import decode_file

from hams.errors import BadRequest

SUPPORTED_EXTENSIONS: tuple[str, ...] = ("txt", "md", "html", "htm", "pdf", "docx")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # one upload
DEFAULT_MAX_TEXT_CHARS = 5_000_000  # the extracted text: about 2,500 pages
DEFAULT_MAX_PDF_PAGES = 2_000
MAX_DOCX_UNPACKED_BYTES = 200 * 1024 * 1024  # a zip bomb stops here, before parsing

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")
# Markdown syntax that carries no words: heading and quote marks, list bullets, emphasis,
# code fences, images, and link targets (the link's text stays).
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_LINE_MARK = re.compile(r"^[^\S\n]*(?:#{1,6}|>+|[-*+]|\d+[.)])[^\S\n]+", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`+|~~)(?=\S)(.+?)(?<=\S)\1")
_MD_FENCE = re.compile(r"^[^\S\n]*(```|~~~).*$", re.MULTILINE)
# A PDF line that ends without closing a sentence goes on in the next line: the break is the
# page's wrapping, not the author's.
_PDF_WRAP = re.compile(r"(?<![.!?؟…:;؛])[^\S\n]*\n(?=[^\S\n]*\S)")


class ExtractionError(BadRequest):
    """A knowledge-base file or page whose text cannot be read; ``reason`` says why, in words
    a user can act on ("the PDF has no text layer"). Bad input: never retried."""

    message_key = "DOCUMENT_UNREADABLE"

    def __init__(self, reason: str):
        super().__init__(f"The document could not be read: {reason}.")
        self.reason = reason


def extract_text(data: bytes, extension: str, *, url: str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_chars: int = DEFAULT_MAX_TEXT_CHARS) -> str:
    """The text of one file, paragraphs separated by a blank line; ``extension`` (with or
    without its dot, any case) names the format; ``url`` helps trafilatura with HTML."""
    kind = extension.lower().lstrip(".")
    if kind not in SUPPORTED_EXTENSIONS:
        raise ExtractionError(f"files of type {kind or 'unknown'!r} are not supported "
                              f"(supported: {', '.join(SUPPORTED_EXTENSIONS)})")
    if not data:
        raise ExtractionError("the file is empty")
    if len(data) > max_bytes:
        limit = (f"{max_bytes / 2**20:.0f} MB" if max_bytes >= 2**20 else f"{max_bytes:,} bytes")
        raise ExtractionError(f"the file is larger than {limit}")
    if kind == "pdf":
        text = _pdf_text(data, max_chars)
    elif kind == "docx":
        text = _docx_text(data)
    elif kind in ("html", "htm"):
        text = html_to_text(_decode_html(data), url=url)
    else:
        text = _decode_text(data)
        if kind == "md":
            text = _strip_markdown(text)
    return _finish(text, max_chars)


def html_to_text(html: str, *, url: str | None = None) -> str:
    """The readable text of a web page: trafilatura's main content (navigation and
    boilerplate dropped), or every visible text when it finds no main content."""
    if not html.strip():
        return ""
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True)
    if not text or not text.strip():
        text = trafilatura.baseline(html)[1]  # all text of the body, scripts and styles left out
    # trafilatura puts one block (paragraph, heading, list item) on each line.
    return "\n\n".join(line.strip() for line in (text or "").splitlines() if line.strip())


def _finish(text: str, max_chars: int) -> str:
    """NFC, no control characters, one space between words, one blank line between
    paragraphs; refuse a document with no words or beyond ``max_chars``."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n")))
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text.replace("\r", "\n")))
    text = "\n".join(line.strip() for line in text.split("\n")).strip()
    if not any(c.isalnum() for c in text):
        raise ExtractionError("the document contains no text")
    if len(text) > max_chars:
        raise ExtractionError(f"the document's text is longer than {max_chars:,} characters")
    return text


def _decode_text(data: bytes) -> str:
    """UTF-8 (a BOM allowed), UTF-16 with its BOM, else Windows-1256 (older Arabic files)
    when the result reads as prose; control characters mean a binary file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ExtractionError("the file starts like UTF-16 text but does not decode") \
                from None
    elif b"\x00" in data:
        raise ExtractionError("the file is binary, not text")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1256", errors="replace")
            if not _reads_as_prose(text):
                raise ExtractionError(
                    "the file is not text in UTF-8, UTF-16 or Windows-1256") from None
    if len(_CONTROL.findall(text)) > len(text) // 200:
        raise ExtractionError("the file is binary, not text")
    return text


def _reads_as_prose(text: str) -> bool:
    """Whether a lenient decoding reads as prose: mostly letters, digits and spaces, and
    hardly a character that did not decode."""
    wordy = sum(c.isalnum() or c.isspace() for c in text)
    return text.count("\ufffd") <= len(text) // 200 and wordy >= 0.7 * len(text)


def _decode_html(data: bytes) -> str:
    """HTML bytes to text: the charset the page declares, else UTF-8, else a guess."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractionError("the file is binary, not an HTML page")
    return decode_file(data)


def _strip_markdown(text: str) -> str:
    """Markdown's markup removed, its words kept: search and embeddings see prose."""
    text = _MD_FENCE.sub("", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_LINE_MARK.sub("", text)
    return _MD_EMPHASIS.sub(r"\2", text)


def _pdf_text(data: bytes, max_chars: int) -> str:
    """Each page's text layer, wrapped lines joined, pages separated by a blank line."""
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ExtractionError("not a PDF file")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("the PDF is protected by a password")
        if len(reader.pages) > DEFAULT_MAX_PDF_PAGES:
            raise ExtractionError(f"the PDF has more than {DEFAULT_MAX_PDF_PAGES:,} pages")
        pages, total = [], 0
        for page in reader.pages:
            pages.append(_PDF_WRAP.sub(" ", page.extract_text() or ""))
            total += len(pages[-1])
            if total > max_chars:
                raise ExtractionError(
                    f"the document's text is longer than {max_chars:,} characters")
    except ExtractionError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise ExtractionError(f"the PDF is damaged and cannot be read ({exc})") from exc
    if not any(page.strip() for page in pages):
        raise ExtractionError("the PDF has no text layer (a scanned document needs OCR, "
                              "which hams does not do)")
    return "\n\n".join(pages)


def _docx_text(data: bytes) -> str:
    """Paragraphs and table rows in document order; a table row's cells joined by " | "."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_DOCX_UNPACKED_BYTES:
                raise ExtractionError("the DOCX file unpacks to more than 200 MB")
            if "word/document.xml" not in archive.namelist():
                raise ExtractionError("not a DOCX file (the archive has no Word document)")
    except zipfile.BadZipFile:
        raise ExtractionError("not a DOCX file") from None
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.extend(" | ".join(cell.text.strip() for cell in row.cells)
                              for row in block.rows)
            else:
                blocks.append(block.text)
    except Exception as exc:  # python-docx and lxml raise many kinds on a damaged file
        raise ExtractionError(f"the DOCX file is damaged and cannot be read ({exc})") from exc
    return "\n\n".join(block for block in blocks if block.strip())
