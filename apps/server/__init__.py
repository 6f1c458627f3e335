"""The OpenAI-compatible speech server (``emotive serve``) and the audio encoders it shares with ``emotive speak``."""
