"""`hams agents` and `hams kb` through the installed entry point, against the real server."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

from tests.helpers.server import HAMS

EXIT_FAILED, EXIT_USAGE = 1, 2


def hams(server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run `hams ARGS` as a user would: key and URL from the environment, no terminal."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HAMS_")}
    environ.update({"HAMS_BASE_URL": server.base_url, "HAMS_API_KEY": server.key})
    return subprocess.run([HAMS, *args], env=environ, input=stdin, capture_output=True,
                          text=True, timeout=120)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- agents --------------------------------------------------------------------------------


def test_agents_create_list_show_delete(server):
    name = unique("cli-agent")
    created = hams(server, "agents", "create", "--name", name, "--lang", "en",
                   "--preamble", "You help with hams.", "--greeting", "Hi there")
    assert created.returncode == 0, created.stderr
    agent_id = created.stdout.strip()
    assert agent_id and "\n" not in agent_id  # the id alone: id=$(hams agents create ...)
    assert f"created agent {name!r}" in created.stderr

    listed = hams(server, "agents", "list", "--search", name)
    assert listed.returncode == 0, listed.stderr
    assert "NAME" in listed.stdout and name in listed.stdout and agent_id in listed.stdout
    assert "page 1 of 1, 1 agents" in listed.stdout
    as_json = json.loads(hams(server, "agents", "list", "--search", name, "--json").stdout)
    assert [a["id"] for a in as_json["voiceAgents"]] == [agent_id]

    shown = hams(server, "agents", "show", agent_id)
    assert shown.returncode == 0, shown.stderr
    assert "Hi there" in shown.stdout and "You help with hams." in shown.stdout
    whole = json.loads(hams(server, "agents", "show", agent_id, "--json").stdout)
    assert whole["name"] == name and whole["voice"]["lang"] == "en"
    assert whole["conversation"]["greetingMessage"] == "Hi there"

    deleted = hams(server, "agents", "delete", agent_id)
    assert deleted.returncode == 0, deleted.stderr
    missing = hams(server, "agents", "show", agent_id)
    assert missing.returncode == EXIT_FAILED and "[VOICE_AGENT_NOT_FOUND]" in missing.stderr


def test_agents_create_from_a_json_file_with_flags_over_it(server, tmp_path):
    spec = tmp_path / "agent.json"
    spec.write_text(json.dumps({
        "name": unique("from-file"), "type": "Single Prompt",
        "conversation": {"preamble": "From the file.", "greetingMessage": "File greeting"},
        "voice": {"lang": "ar"}, "callSettings": {"silenceThreshold": 600},
        "description": "made by the CLI test"}), encoding="utf-8")
    created = hams(server, "agents", "create", "--from", str(spec), "--greeting", "Flag!",
                   "--lang", "en", "--json")
    assert created.returncode == 0, created.stderr
    agent = json.loads(created.stdout)
    assert agent["conversation"] == {**agent["conversation"], "preamble": "From the file.",
                                     "greetingMessage": "Flag!"}
    assert agent["voice"]["lang"] == "en" and agent["callSettings"]["silenceThreshold"] == 600
    assert agent["description"] == "made by the CLI test"
    piped = hams(server, "agents", "create", "--from", "-", "--name", unique("stdin"),
                 stdin=json.dumps({"conversation": {"preamble": "piped"}}))
    assert piped.returncode == 0, piped.stderr
    for agent_id in (agent["id"], piped.stdout.strip()):
        assert hams(server, "agents", "delete", agent_id).returncode == 0


def test_agents_create_refusals(server, tmp_path):
    nameless = hams(server, "agents", "create", "--lang", "en")
    assert nameless.returncode == EXIT_USAGE and "--name" in nameless.stderr
    not_json = tmp_path / "agent.json"
    not_json.write_text("{nope", encoding="utf-8")
    bad_file = hams(server, "agents", "create", "--from", str(not_json))
    assert bad_file.returncode == EXIT_USAGE and "is not JSON" in bad_file.stderr
    missing = hams(server, "agents", "create", "--from", str(tmp_path / "none.json"))
    assert missing.returncode == EXIT_USAGE and "no such file" in missing.stderr
    bad_voice = hams(server, "agents", "create", "--name", "x", "--voice", "No Such Voice")
    assert bad_voice.returncode == EXIT_FAILED and "[UNKNOWN_VOICE]" in bad_voice.stderr


# --- the knowledge base --------------------------------------------------------------------

NOTES = ("The Oasis support line answers from eight in the morning until ten at night. "
         "Customers in Dammam can also visit the service desk on King Saud Street.")
PAGE = ("<html><body><article><h1>Warranty</h1><p>Every Oasis appliance carries a two year "
        "warranty that covers parts and labour at any branch.</p></article></body></html>")


def test_kb_add_a_file_and_wait_then_list_search_show_delete(server, tmp_path):
    notes = tmp_path / f"{unique('support')}.txt"
    notes.write_text(NOTES, encoding="utf-8")
    added = hams(server, "kb", "add", str(notes), "--wait", "--timeout", "60")
    assert added.returncode == 0, added.stderr
    item_id = added.stdout.strip()
    assert item_id and "\n" not in item_id
    assert f"{notes.name}: PROCESSED" in added.stderr and "words" in added.stderr

    listed = hams(server, "kb", "list", "--search", notes.stem)
    assert listed.returncode == 0, listed.stderr
    assert item_id in listed.stdout and "PROCESSED" in listed.stdout

    found = hams(server, "kb", "search", "When does the support line answer?", "--item",
                 item_id, "--top-k", "1")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(f"1. {notes.name}") and "eight in the morning" in found.stdout
    as_json = json.loads(hams(server, "kb", "search", "Dammam service desk", "--item", item_id,
                              "--json").stdout)
    assert as_json["results"][0]["itemId"] == item_id

    shown = json.loads(hams(server, "kb", "show", item_id, "--json").stdout)
    assert shown["status"] == "PROCESSED" and shown["type"] == "FILE"
    assert hams(server, "kb", "delete", item_id).returncode == 0
    missing = hams(server, "kb", "show", item_id)
    assert missing.returncode == EXIT_FAILED and "error:" in missing.stderr


def test_kb_add_a_url_then_wait_for_it_with_show(server, media_server):
    url = media_server.add_file(f"{unique('warranty')}.html", PAGE.encode())
    added = hams(server, "kb", "add", url, "--name", "Warranty page")
    assert added.returncode == 0, added.stderr
    item_id = added.stdout.strip()
    assert "Warranty page: PROCESSING" in added.stderr or "PROCESSED" in added.stderr
    waited = hams(server, "kb", "show", item_id, "--wait", "--timeout", "60", "--json")
    assert waited.returncode == 0, waited.stderr
    item = json.loads(waited.stdout)
    assert item["status"] == "PROCESSED" and item["itemUrls"] == [url]
    assert item["itemName"] == "Warranty page"
    assert hams(server, "kb", "delete", item_id).returncode == 0


def test_kb_add_refusals(server, tmp_path):
    missing = hams(server, "kb", "add", str(tmp_path / "none.txt"))
    assert missing.returncode == EXIT_USAGE and "no such file" in missing.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    refused = hams(server, "kb", "add", str(empty))
    assert refused.returncode == EXIT_USAGE and "is empty" in refused.stderr
    unreadable = tmp_path / "sound.wav"
    unreadable.write_bytes(b"RIFF....WAVE")
    unsupported = hams(server, "kb", "add", str(unreadable))
    assert unsupported.returncode == EXIT_FAILED and "[UNSUPPORTED_MEDIA]" in unsupported.stderr
