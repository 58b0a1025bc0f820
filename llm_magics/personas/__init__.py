"""Personas: the six built-ins, user personas from files, aliases, and the session's selection."""

from __future__ import annotations

from llm_magics.personas.model import (
    Persona,
    builtin_personas,
    get_persona,
    list_personas,
    resolve_personas,
    select,
    selection,
)
from llm_magics.personas.seats import Seat, assign_model, assigned_models, resolve_seats

__all__ = [
    "Persona",
    "get_persona",
    "list_personas",
    "builtin_personas",
    "resolve_personas",
    "select",
    "selection",
    "Seat",
    "resolve_seats",
    "assign_model",
    "assigned_models",
]
