"""What pydantic found wrong with a request, as the one sentence the API answers with."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError


def validation_sentence(exc: RequestValidationError) -> str:
    """The first problem pydantic found, as one sentence naming the field."""
    errors = exc.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    if len(loc) > 1 and loc[-1] in ("int", "str"):
        # pydantic names the union member that failed last; `to` is an index or a name.
        return f"{'.'.join(loc[:-1])}: expected a whole number (an index) or a string (a name)."
    where = ".".join(loc)
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return f"Unknown field {where!r}."
    if kind == "json_invalid":
        return "The body is not valid JSON."
    if kind == "missing":
        return f"{where or 'The body'} is required."
    return f"{where or 'The body'}: {first.get('msg', 'is not valid')}."
