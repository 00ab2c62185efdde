"""A further question about the same text ("and what will it cost?"), answered as `ask` answers.

Only reachable right after this skill answered: out of that context, "what can I cook with
eggs" is no question about a text.
"""

from __future__ import annotations

from ask import run

__all__ = ["run"]
