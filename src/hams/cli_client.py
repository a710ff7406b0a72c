"""Client commands of the `hams` CLI: transcribe, tts, jobs, content, voices, agents, kb.

They talk to a hams (or Hamsa) server over HTTP through :mod:`hams.client`, so they import
nothing of the server and start fast. Results (text, tables, JSON) go to stdout; progress,
notes and errors to stderr, so output can be piped. Exit codes tell outcomes apart for
scripts: see ``Exit``.
"""

from __future__ import annotations

import argparse
import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

from hams import cli_output as out
from hams.cli_speech import check_before_upload, synthesize


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # the server refused the request or could not be reached, or the job failed
    USAGE = 2  # bad arguments or a missing file (argparse uses 2 as well)
    AUTH = 3  # no API key, or the server rejected it


class UsageError(Exception):
    """A mistake in the command line that no request would fix."""


def add_client_commands(sub: argparse._SubParsersAction) -> None:
    """Register the client commands on the main parser's subcommands."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--api-key", help="API key (default: $HAMS_API_KEY)")
    connection.add_argument("--base-url", help="server URL (default: $HAMS_BASE_URL, "
                            "else http://127.0.0.1:8000)")
    connection.add_argument("--json", action="store_true", help="print JSON for scripts")
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument("--no-wait", action="store_true", help="print the job id and return")
    waiting.add_argument("--timeout", type=float, default=None,
                         help="seconds to wait for the job (default: no limit)")

    transcribe = sub.add_parser("transcribe", parents=[connection, waiting],
                                help="transcribe a local file or a URL")
    transcribe.add_argument("source", metavar="FILE|URL")
    transcribe.add_argument("--language", default="auto", choices=["auto", "ar", "en"],
                            help="the spoken language (default: %(default)s, detected by the "
                            "server)")
    transcribe.add_argument("--model", help="Hamsa model name (default: the server's)")
    transcribe.add_argument("--title")
    transcribe.add_argument("--srt", type=Path, metavar="PATH", help="write subtitles here")
    transcribe.set_defaults(client_func=cmd_transcribe)

    tts = sub.add_parser("tts", parents=[connection],
                         help="synthesize speech to a WAV file ('-' reads the text from stdin)")
    tts.add_argument("text")
    tts.add_argument("--voice", help="voice name or id (default: the dialect's first voice)")
    tts.add_argument("--dialect", help="dialect code, e.g. msa, egy, uae, en")
    tts.add_argument("--mulaw", action="store_true", help="8 kHz μ-law instead of 16 kHz PCM")
    tts.add_argument("-o", "--output", type=Path, required=True, metavar="PATH")
    tts.set_defaults(client_func=cmd_tts)

    jobs = sub.add_parser("jobs", help="list, show or cancel jobs").add_subparsers(
        required=True, metavar="ACTION")
    listing = jobs.add_parser("list", parents=[connection], help="list recent jobs")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--per-page", type=int, default=20)
    listing.add_argument("--type", choices=["TRANSCRIPTION", "TTS", "AI_CONTENT"])
    listing.add_argument("--search")
    listing.set_defaults(client_func=cmd_jobs_list)
    show = jobs.add_parser("show", aliases=["get"], parents=[connection],
                           help="show one job (its transcript too)")
    show.add_argument("job_id")
    show.add_argument("--wait", action="store_true", help="wait until it has finished")
    show.add_argument("--timeout", type=float, default=None)
    show.set_defaults(client_func=cmd_jobs_show)
    cancel = jobs.add_parser("cancel", parents=[connection], help="cancel a pending job")
    cancel.add_argument("job_id")
    cancel.set_defaults(client_func=cmd_jobs_cancel)

    content = sub.add_parser("content", parents=[connection, waiting],
                             help="AI content (summary, keywords...) from a transcription job")
    content.add_argument("job_id", metavar="JOB_ID")
    content.add_argument("--parts", default="summary,keywords",
                         help="comma-separated parts (default: summary,keywords)")
    content.add_argument("--language", choices=["ar", "en", "both_ar_first", "both_en_first"])
    content.set_defaults(client_func=cmd_content)

    voices = sub.add_parser("voices", parents=[connection], help="list the server's voices")
    voices.add_argument("--dialect")
    voices.set_defaults(client_func=cmd_voices)

    _add_agent_commands(sub, connection)
    _add_kb_commands(sub, connection)


def _add_agent_commands(sub: argparse._SubParsersAction,
                        connection: argparse.ArgumentParser) -> None:
    agents = sub.add_parser("agents", help="list, create, show or delete voice agents"
                            ).add_subparsers(required=True, metavar="ACTION")
    listing = agents.add_parser("list", parents=[connection], help="list the project's agents")
    listing.add_argument("--search", help="part of the name (or the id)")
    listing.add_argument("--lang", choices=["ar", "en"], help="only agents in this language")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--per-page", type=int, default=20)
    listing.set_defaults(client_func=cmd_agents_list)
    create = agents.add_parser(
        "create", parents=[connection],
        help="create an agent from flags and/or a JSON file (the v2 agent object)")
    create.add_argument("--from", dest="from_file", metavar="FILE",
                        help="a JSON agent in Hamsa's v2 shape ('-': stdin); flags override it")
    create.add_argument("--name", help="the agent's name (required unless the file has one)")
    create.add_argument("--lang", choices=["ar", "en"], help="the language it speaks")
    create.add_argument("--voice", help="voice name or id (default: the language's first)")
    create.add_argument("--preamble", help="the system prompt")
    create.add_argument("--greeting", help="what it says first")
    create.add_argument("--type", choices=["Single Prompt", "Flow Agent"])
    create.set_defaults(client_func=cmd_agents_create)
    show = agents.add_parser("show", aliases=["get"], parents=[connection],
                             help="show one agent")
    show.add_argument("agent_id", metavar="AGENT_ID")
    show.set_defaults(client_func=cmd_agents_show)
    delete = agents.add_parser("delete", parents=[connection], help="delete an agent")
    delete.add_argument("agent_id", metavar="AGENT_ID")
    delete.set_defaults(client_func=cmd_agents_delete)


def _add_kb_commands(sub: argparse._SubParsersAction,
                     connection: argparse.ArgumentParser) -> None:
    kb = sub.add_parser("kb", help="the knowledge base: add files and pages, list, search"
                        ).add_subparsers(required=True, metavar="ACTION")
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument("--wait", action="store_true",
                         help="wait until the item is processed and say how it went")
    waiting.add_argument("--timeout", type=float, default=None,
                         help="seconds to wait (default: no limit)")
    add = kb.add_parser("add", parents=[connection, waiting],
                        help="add a local file (txt, md, html, pdf, docx) or a web page")
    add.add_argument("source", metavar="FILE|URL")
    add.add_argument("--name", help="the item's name (default: the file's name or the URL)")
    add.set_defaults(client_func=cmd_kb_add)
    listing = kb.add_parser("list", parents=[connection], help="list the project's items")
    listing.add_argument("--search", help="part of the name or URL")
    listing.add_argument("--type", choices=["TEXT", "URL", "FILE"])
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--per-page", type=int, default=20)
    listing.set_defaults(client_func=cmd_kb_list)
    show = kb.add_parser("show", aliases=["get"], parents=[connection, waiting],
                         help="show one item")
    show.add_argument("item_id", metavar="ITEM_ID")
    show.set_defaults(client_func=cmd_kb_show)
    search = kb.add_parser("search", parents=[connection],
                           help="the passages that best answer a question")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--top-k", type=int, default=5, help="how many (default: 5)")
    search.add_argument("--item", action="append", dest="items", metavar="ITEM_ID",
                        help="search only this item (repeatable)")
    search.set_defaults(client_func=cmd_kb_search)
    delete = kb.add_parser("delete", parents=[connection], help="delete an item")
    delete.add_argument("item_id", metavar="ITEM_ID")
    delete.set_defaults(client_func=cmd_kb_delete)


def run_client_command(args: argparse.Namespace) -> int:
    """Run a client command and turn what went wrong into a message and an exit code."""
    from hams.client import APIConnectionError, AuthenticationError, HamsError, JobTimeout
    from hams.client.errors import KnowledgeItemTimeout

    try:
        return args.client_func(args)
    except UsageError as exc:
        return _fail(f"error: {exc}", Exit.USAGE)
    except FileNotFoundError as exc:
        return _fail(f"error: no such file: {exc.filename or exc}", Exit.USAGE)
    except AuthenticationError as exc:
        if exc.message_key == "API_KEY_REQUIRED":
            return _fail("error: no API key: set HAMS_API_KEY or pass --api-key (`hams serve` "
                         "prints one on its first start; `hams keys create` makes more)",
                         Exit.AUTH)
        return _fail(f"error: the server refused the API key: {exc.message} (check "
                     "HAMS_API_KEY or --api-key)", Exit.AUTH)
    except KnowledgeItemTimeout as exc:
        item = exc.item
        return _fail(f"error: knowledge-base item {item.id} is still {item.status} after "
                     f"{args.timeout:g} s; it keeps being processed (`hams kb show {item.id} "
                     "--wait` waits again)", Exit.FAILED)
    except JobTimeout as exc:  # the SDK's message names wait_for_job(); say the command
        job = exc.job
        state = job.state or str(job.status).lower()
        return _fail(f"error: job {job.id} is still {state} after {args.timeout:g} s; it keeps "
                     f"running (`hams jobs show {job.id} --wait` waits again)", Exit.FAILED)
    except APIConnectionError as exc:  # "Could not connect to URL: connection refused"
        return _fail(f"error: {exc.message[:1].lower()}{exc.message[1:]}", Exit.FAILED)
    except HamsError as exc:
        if exc.message_key == "BAD_BASE_URL":
            return _fail("error: " + exc.message.replace("base_url", "--base-url (or "
                                                         "HAMS_BASE_URL)"), Exit.USAGE)
        key = f" [{exc.message_key}]" if exc.message_key else ""
        return _fail(f"error: {exc.message}{key}", Exit.FAILED)
    except OSError as exc:  # writing the result: the work was done, keeping it failed
        return _fail(f"error: {exc.strerror or exc}: {exc.filename or ''}", Exit.FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return int(code)


# --- commands ------------------------------------------------------------------------------


def cmd_transcribe(args: argparse.Namespace) -> int:
    source = args.source
    path = None if source.startswith(("http://", "https://")) else _readable_file(source)
    if args.srt is not None:
        if args.no_wait:
            raise UsageError("--srt needs the finished job: drop --no-wait")
        _check_writable(args.srt)
    with _client(args) as client, out.Progress(quiet=args.json) as progress:
        if path is not None:
            check_before_upload(client, args.language, args.model)
        job = client.transcribe(
            source, language=args.language, model=args.model, title=args.title,
            return_srt=args.srt is not None, wait=False,
            on_upload_progress=None if path is None else progress.upload(path.name))
        if args.no_wait:
            return _print_job_id(args, job)
        job = client.wait_for_job(job.id, args.timeout, on_poll=progress.spinner("transcribing"))
    if not job.succeeded:
        return _job_failed(args, job)
    transcript = job.transcript
    if args.srt is not None:
        if not transcript.srt:
            return _fail("error: the server returned no SRT for this job", Exit.FAILED)
        args.srt.write_text(transcript.srt, encoding="utf-8")
    if args.json:
        out.print_json(job.model_dump(mode="json", by_alias=True))
    else:
        print(transcript.text)
        if args.srt is not None:
            out.note(f"subtitles written to {args.srt}")
    return Exit.OK


def _readable_file(source: str) -> Path:
    """The file to upload, refused now if it cannot be: missing, a folder, unreadable, empty."""
    path = Path(source).expanduser()
    if not path.exists():
        raise UsageError(f"no such file: {source}")
    if not path.is_file():
        raise UsageError(f"{source} is not a file")
    try:
        with path.open("rb") as file:
            empty = not file.read(1)
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if empty:
        raise UsageError(f"{source} is empty")
    return path


def cmd_tts(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise UsageError("the text is empty")
    _check_writable(args.output)
    with _client(args) as client, out.Progress(quiet=args.json) as progress:
        progress.spinner("synthesizing")
        audio = synthesize(client, text, voice=args.voice, dialect=args.dialect,
                           mulaw=args.mulaw, progress=progress)
    args.output.write_bytes(audio)
    if args.json:
        out.print_json({"path": str(args.output), "bytes": len(audio)})
    else:
        out.note(f"{len(audio):,} bytes written to {args.output}")
    return Exit.OK


def cmd_jobs_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        page = client.list_jobs(page=args.page, per_page=args.per_page, type=args.type,
                                search=args.search)
    if args.json:
        out.print_json(page.model_dump(mode="json", by_alias=True))
        return Exit.OK
    rows = [[job.id, job.type or "", job.status or "", job.title or "",
             out.short_time(job.created_at)] for job in page.jobs]
    out.table(["ID", "TYPE", "STATUS", "TITLE", "CREATED"], rows,
           caption=f"page {page.page} of {page.total_pages}, {page.total_count} jobs")
    return Exit.OK


def cmd_jobs_show(args: argparse.Namespace) -> int:
    with _client(args) as client, out.Progress(quiet=args.json) as progress:
        if args.wait:
            job = client.wait_for_job(args.job_id, args.timeout,
                                      on_poll=progress.spinner("waiting"))
        else:
            job = client.get_job(args.job_id)
    if args.json:
        out.print_json(job.model_dump(mode="json", by_alias=True))
    else:
        fields = [("id", job.id), ("type", job.type), ("status", job.status),
                  ("state", job.state), ("title", job.title),
                  ("created", out.short_time(job.created_at)),
                  ("usage", job.usage_time), ("cost", job.total_cost), ("error", job.error)]
        out.table(["FIELD", "VALUE"], [[name, out.text(value)] for name, value in fields
                                    if value not in (None, "")])
        transcript = job.transcript
        if transcript is not None and transcript.text:
            print(transcript.text)
    return Exit.OK if job.status != "FAILED" else Exit.FAILED


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        job = client.cancel_job(args.job_id)
    if args.json:
        out.print_json(job.model_dump(mode="json", by_alias=True))
    else:
        out.note(f"cancelled {job.id}")
    return Exit.OK


def cmd_content(args: argparse.Namespace) -> int:
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    if not parts:
        raise UsageError("--parts names no part")
    with _client(args) as client, out.Progress(quiet=args.json) as progress:
        job = client.ai_content(args.job_id, parts, language=args.language, wait=False)
        if args.no_wait:
            return _print_job_id(args, job)
        job = client.wait_for_job(job.id, args.timeout, on_poll=progress.spinner("writing"))
    if not job.succeeded:
        return _job_failed(args, job)
    if args.json:
        out.print_json(job.model_dump(mode="json", by_alias=True))
        return Exit.OK
    content = job.ai_content or {}
    for part in parts:
        print(f"## {part}\n\n{out.text(content.get(part, '')).strip()}\n")
    return Exit.OK


def cmd_voices(args: argparse.Namespace) -> int:
    with _client(args) as client:
        voices = client.voices(dialect=args.dialect)
    if args.json:
        out.print_json([voice.model_dump(mode="json", by_alias=True) for voice in voices])
        return Exit.OK
    out.table(["NAME", "DIALECT", "LANGUAGE", "ID"],
           [[v.name, out.text(v.dialect_code), out.text(v.language), v.id] for v in voices])
    return Exit.OK


def cmd_agents_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        page = client.agents.list(page=args.page, per_page=args.per_page, search=args.search,
                                  language=args.lang)
    if args.json:
        out.print_json(page.model_dump(mode="json", by_alias=True))
        return Exit.OK
    rows = [[a.id, a.name, out.text(a.type), out.text(a.lang), _voice_name(a),
             out.short_time(a.created_at)] for a in page.voice_agents]
    out.table(["ID", "NAME", "TYPE", "LANG", "VOICE", "CREATED"], rows,
              caption=out.page_caption(args.page, args.per_page, page.filtered, page.total,
                                       "agents"))
    return Exit.OK


def cmd_agents_create(args: argparse.Namespace) -> int:
    fields = _json_object(args.from_file) if args.from_file else {}
    name = args.name or fields.get("name") or fields.get("agentName")
    if not isinstance(name, str) or not name.strip():
        raise UsageError("the agent needs a name: pass --name (or a \"name\" in --from FILE)")
    # the flags win over the file; the shortcuts' names are taken out of the file's fields
    shortcuts = {key: fields.pop(key, None) for key in
                 ("name", "agentName", "lang", "voice", "preamble", "greeting")}
    voice = shortcuts["voice"]
    if args.voice:
        voice = {**voice, "voiceId": args.voice} if isinstance(voice, dict) else args.voice
    if args.type:
        fields["type"] = args.type
    with _client(args) as client:
        agent = client.agents.create(
            name, lang=args.lang or shortcuts["lang"], voice=voice,
            preamble=args.preamble or shortcuts["preamble"],
            greeting=args.greeting or shortcuts["greeting"], **fields)
    if args.json:
        out.print_json(agent.model_dump(mode="json", by_alias=True))
    else:
        print(agent.id)
        out.note(f"created agent {agent.name!r} ({agent.lang}, voice {_voice_name(agent)})")
    return Exit.OK


def cmd_agents_show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        agent = client.agents.get(args.agent_id)
    if args.json:
        out.print_json(agent.model_dump(mode="json", by_alias=True))
        return Exit.OK
    fields = [("id", agent.id), ("name", agent.name), ("type", agent.type),
              ("lang", agent.lang), ("voice", _voice_name(agent)),
              ("description", agent.description), ("greeting", agent.greeting),
              ("preamble", out.clip(agent.preamble)),
              ("llm", agent.llm.model or agent.llm.base_url or "the server's"),
              ("web tools", ", ".join(t.persistent_id for t in agent.tools)),
              ("knowledge", ", ".join(agent.knowledge_base_items_ids)),
              ("phone number", (agent.phone_number or {}).get("number")),
              ("created", out.short_time(agent.created_at)),
              ("updated", out.short_time(agent.updated_at))]
    out.table(["FIELD", "VALUE"], [[name, out.text(value)] for name, value in fields
                                   if value not in (None, "")])
    return Exit.OK


def cmd_agents_delete(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.agents.delete(args.agent_id)
    return _deleted(args, "agent", args.agent_id)


def cmd_kb_add(args: argparse.Namespace) -> int:
    source = args.source
    url = source.startswith(("http://", "https://"))
    path = None if url else _readable_file(source)
    with _client(args) as client, out.Progress(quiet=args.json) as progress:
        kb = client.knowledge_base
        if path is not None:
            item = kb.add_file(path, args.name, on_progress=progress.upload(path.name))
        else:
            item = kb.add_urls(args.name, source)
        if args.wait:
            item = kb.wait(item.id, args.timeout, on_poll=progress.spinner("processing"))
    return _print_item(args, item)


def cmd_kb_show(args: argparse.Namespace) -> int:
    with _client(args) as client, out.Progress(quiet=args.json) as progress:
        if args.wait:
            item = client.knowledge_base.wait(args.item_id, args.timeout,
                                              on_poll=progress.spinner("processing"))
        else:
            item = client.knowledge_base.get(args.item_id)
    if args.json:
        out.print_json(item.model_dump(mode="json", by_alias=True))
    else:
        fields = [("id", item.id), ("name", item.item_name), ("type", item.type),
                  ("status", item.status), ("failure", item.failure_reason),
                  ("url", item.item_url), ("pages", len(item.item_urls) or None),
                  ("words", item.words_number), ("size", item.file_size),
                  ("active", item.is_active), ("used", item.used),
                  ("created", out.short_time(item.created_at))]
        out.table(["FIELD", "VALUE"], [[name, out.text(value)] for name, value in fields
                                       if value not in (None, "")])
    return Exit.FAILED if item.status == "FAILED" else Exit.OK


def cmd_kb_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        page = client.knowledge_base.list(page=args.page, per_page=args.per_page,
                                          search=args.search, type=args.type)
    if args.json:
        out.print_json(page.model_dump(mode="json", by_alias=True))
        return Exit.OK
    rows = [[i.id, out.clip(i.item_name, 60), out.text(i.type), i.status,
             out.text(i.words_number), out.short_time(i.created_at)] for i in page.items]
    out.table(["ID", "NAME", "TYPE", "STATUS", "WORDS", "CREATED"], rows,
              caption=out.page_caption(args.page, args.per_page, page.filtered, page.total,
                                       "items"))
    return Exit.OK


def cmd_kb_search(args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise UsageError("the query is empty")
    with _client(args) as client:
        found = client.knowledge_base.search(args.query, item_ids=args.items, top_k=args.top_k)
    if args.json:
        out.print_json(found.model_dump(mode="json", by_alias=True))
        return Exit.OK
    for rank, hit in enumerate(found.results, 1):
        where = hit.item_name or hit.item_id
        if hit.source and hit.source != where:
            where += f" ({hit.source})"
        print(f"{rank}. {where}  [score {hit.score:.3f}]\n{hit.text.strip()}\n")
    if not found.results:
        out.note("nothing found (items still PROCESSING or inactive are not searched)")
    return Exit.OK


def cmd_kb_delete(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.knowledge_base.delete(args.item_id)
    return _deleted(args, "item", args.item_id)


def _deleted(args: argparse.Namespace, what: str, ident: str) -> int:
    if args.json:
        out.print_json({"id": ident, "deleted": True})
    else:
        out.note(f"deleted {what} {ident}")
    return Exit.OK


def _print_item(args: argparse.Namespace, item: Any) -> int:
    """A new item: its id on stdout (the whole item with --json), how it stands on stderr."""
    if args.json:
        out.print_json(item.model_dump(mode="json", by_alias=True))
    else:
        print(item.id)
    if item.status == "FAILED":
        return _fail(f"error: item {item.id} failed: {item.failure_reason or 'no reason given'}",
                     Exit.FAILED)
    if not args.json:
        words = f", {item.words_number:,} words" if item.words_number is not None else ""
        after = "" if item.done else f" (`hams kb show {item.id} --wait` waits for it)"
        out.note(f"{item.item_name}: {item.status}{words}{after}")
    return Exit.OK


def _voice_name(agent: Any) -> str:
    record = agent.voice.voice_record or {}
    return out.text(record.get("name") or agent.voice.voice_id)


def _json_object(source: str) -> dict[str, Any]:
    """A JSON object from a file (or stdin for '-'), refused as a usage error otherwise."""
    if source == "-":
        raw = sys.stdin.read()
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise UsageError(f"no such file: {source}")
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {source}: {exc}") from exc
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UsageError(f"{source} holds a JSON {type(value).__name__}, not an object")
    return value


# --- helpers -------------------------------------------------------------------------------


def _client(args: argparse.Namespace):
    from hams.client import Hams

    return Hams(api_key=args.api_key, base_url=args.base_url)


def _check_writable(path: Path) -> None:
    """Refuse an output path that cannot be written before the server does any work."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder; name a file")
    if not path.parent.is_dir():
        raise UsageError(f"the folder {path.parent} does not exist")


def _print_job_id(args: argparse.Namespace, job: Any) -> int:
    if args.json:
        out.print_json(job.model_dump(mode="json", by_alias=True))
    else:
        print(job.id)
    return Exit.OK


def _job_failed(args: argparse.Namespace, job: Any) -> int:
    if args.json:
        out.print_json(job.model_dump(mode="json", by_alias=True))
    return _fail(f"error: job {job.id} {str(job.status).lower()}: {job.error or 'no reason given'}",
                 Exit.FAILED)


