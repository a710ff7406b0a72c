"""This process's live conversations, kept apart from the runtime they run on: the app starts
the host at startup without loading Pipecat, which is imported with the first call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from hams import metrics
from hams.db.session import Database
from hams.services import conversations
from hams.settings import Settings

if TYPE_CHECKING:
    from hams.agents.session import LiveConversation

log = logging.getLogger(__name__)


@dataclass
class ConversationHost:
    """This process's live conversations: at most ``capacity``, leases renewed every second,
    terminate requests (from any replica) honoured, abandoned ones failed by a sweep."""

    db: Database
    settings: Settings
    name: str
    capacity: int
    live: dict[str, LiveConversation | None] = field(default_factory=dict)  # None: starting
    reserved: int = 0
    _task: asyncio.Task | None = None

    def has_room(self) -> bool:
        return self.reserved < self.capacity

    def admits_another(self) -> bool:
        """``has_room`` for a caller about to refuse a conversation: a refusal is counted."""
        if self.has_room():
            return True
        metrics.conversation_refused()
        return False

    def reserve(self) -> bool:
        if not self.admits_another():
            return False
        self.reserved += 1
        metrics.conversation_started()
        return True

    def release(self, job_id: str | None) -> None:
        if self.reserved > 0:
            self.reserved -= 1
            metrics.conversation_released()
        if job_id:
            self.live.pop(job_id, None)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._tend())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        for conversation in list(self.live.values()):
            if conversation is not None:
                await conversation.end("FAILED", "The server shut down during the call")

    async def _tend(self) -> None:
        ticks, swept_at_start = 0, False
        while True:
            try:
                if not swept_at_start:
                    await run_in_threadpool(self._sweep, True)
                    swept_at_start = True
                ids = list(self.live)
                if ids:
                    asked, gone = await run_in_threadpool(self._renew, ids)
                    for job_id in asked | gone:
                        conversation = self.live.get(job_id)
                        if conversation is not None:
                            await (conversation.end("TERMINATED", "Terminated through the API")
                                   if job_id in asked else conversation.end(
                                       "FAILED", "The conversation was ended elsewhere"))
                if ticks % 10 == 9:
                    await run_in_threadpool(self._sweep, False)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep tending; the database may be back soon
                log.exception("conversation host: tending failed")
            await asyncio.sleep(1.0)
            ticks += 1

    def _renew(self, ids: list[str]) -> tuple[set[str], set[str]]:
        with self.db.session() as session:
            return conversations.renew_leases(session, self.name, ids,
                                              lease_seconds=self.settings.agent_lease_seconds)

    def _sweep(self, at_start: bool) -> None:
        with self.db.session() as session:
            failed = conversations.fail_abandoned(session, settings=self.settings,
                                                  host=self.name if at_start else None)
        if failed:
            log.info("failed %d abandoned conversation(s)", failed)
