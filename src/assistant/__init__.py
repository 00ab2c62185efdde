"""assistant: an offline, voice-driven, modular personal assistant."""

__version__ = "0.1.0"
__all__ = ["__version__"]
