"""The hams Python SDK: a client for hams servers and Hamsa's cloud (the same wire format).

    from hams.client import Hams

    with Hams(api_key="...", base_url="http://127.0.0.1:8000") as client:
        job = client.transcribe("meeting.mp3", language="ar", wait=True)
        print(job.transcript.text)

:class:`Hams` blocks; :class:`AsyncHams` has the same methods, awaited. It needs only httpx
and pydantic (``pip install hams``), never the server; realtime sessions also need websockets
(``pip install 'hams[realtime]'``), imported when one connects. See docs/python-sdk.md.
"""

from hams.client._async import AsyncHams
from hams.client._sync import Hams
from hams.client.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HamsError,
    JobFailed,
    JobTimeout,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnsupportedMediaError,
)
from hams.client.models import (
    ChartPoint,
    Dialect,
    DictionaryWord,
    EndOfSpeech,
    Job,
    JobList,
    JobPage,
    JobSummary,
    JobView,
    Measure,
    Project,
    RealtimeTranscript,
    Segment,
    Transcript,
    TtsHistory,
    TtsHistoryPage,
    Upload,
    UsageChart,
    UsageNumbers,
    Voice,
    VoiceDictionary,
    VoicePage,
    WebhookAttempt,
    WebhookDelivery,
    Word,
)
from hams.client.realtime import AsyncRealtimeSession, RealtimeSession

__all__ = [
    "UsageNumbers",
    "UsageChart",
    "Measure",
    "ChartPoint",
    "APIConnectionError",
    "APITimeoutError",
    "AsyncHams",
    "AsyncRealtimeSession",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Dialect",
    "DictionaryWord",
    "EndOfSpeech",
    "Hams",
    "HamsError",
    "Job",
    "JobFailed",
    "JobList",
    "JobPage",
    "JobSummary",
    "JobTimeout",
    "JobView",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Project",
    "RateLimitError",
    "RealtimeSession",
    "RealtimeTranscript",
    "Segment",
    "ServerError",
    "Transcript",
    "TtsHistory",
    "TtsHistoryPage",
    "UnsupportedMediaError",
    "Upload",
    "Voice",
    "VoiceDictionary",
    "VoicePage",
    "WebhookAttempt",
    "WebhookDelivery",
    "Word",
]
