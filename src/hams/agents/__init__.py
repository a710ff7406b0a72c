"""The voice-agent runtime on Pipecat: one pipeline per live conversation, assembled in
``pipeline.py`` from an agent's plan. Pipecat does the real-time work (VAD, Smart Turn, the
LLM context, interruptions); hams owns the wire (``serializer.py``), its engines as Pipecat
services (``services.py``), the tools (``tools.py``) and the record (``recorder.py``)."""
