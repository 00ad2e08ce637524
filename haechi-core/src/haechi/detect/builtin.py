"""The built-in detector: every rule of spec §3, in the reference's order.

Order matters twice: overlap resolution keeps the earlier rule when two matches share
start and length (so ``anthropic-api-key`` must precede ``openai-api-key``), and it is the
order the reference reports. "Word character" is ASCII throughout (RE2's ``\\b``/``\\w``),
so values glued to Korean text are still found.
"""

from __future__ import annotations

from collections.abc import Callable

from haechi.detect import validators as v
from haechi.detect.rules import Rule
from haechi.hookspecs import hookimpl

__all__ = ["BUILTIN_RULES", "BuiltinDetector", "haechi_register_detectors"]

_WORD_OR_HYPHEN = r"\w-"
_URL_SAFE = r"[A-Za-z0-9_-]"
# key words of assignment-secret, not a password
_SECRET_KEY_WORDS = (
    r"api[_-]?key|api[_-]?secret|secret[_-]?key|aws[_-]?secret[_-]?access[_-]?key"  # noqa: S105
    r"|client[_-]?secret|private[_-]?key|access[_-]?token|refresh[_-]?token|auth[_-]?token"
    r"|account[_-]?key|secret|token|password"
)


def _isolated(
    id: str,
    type: str,
    pattern: str,
    confidence: float,
    validator: Callable[[str], bool] | None = None,
    *,
    before: str = _WORD_OR_HYPHEN,
    after: str = _WORD_OR_HYPHEN,
) -> Rule:
    return Rule(
        id=id,
        type=type,
        pattern=pattern,
        confidence=confidence,
        validator=validator,
        not_preceded_by=before,
        not_followed_by=after,
    )


def _injection(id: str, pattern: str, confidence: float) -> Rule:
    return Rule(
        id=id,
        type="injection",
        pattern=pattern,
        confidence=confidence,
        response_only=True,
        ignore_case=True,
    )


BUILTIN_RULES: tuple[Rule, ...] = (
    Rule(
        id="email",
        type="email",
        pattern=r"\b[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}\b",
        confidence=0.95,
        ignore_case=True,
    ),
    _isolated(
        "kr-phone",
        "phone",
        r"(?:\+82[-. ]?)?0?1[016789][-. ]?\d{3,4}[-. ]?\d{4}",
        0.9,
        v.kr_phone_valid,
        before=r"\w+-",
    ),
    _isolated("e164-phone", "phone", r"\+[1-9]\d{6,14}", 0.8, before=r"\w", after=r"\w"),
    _isolated("us-phone", "phone", r"(?:\(\d{3}\) |\d{3}-)\d{3}-\d{4}", 0.75),
    Rule(
        id="kr-rrn-like",
        type="kr_rrn",
        pattern=r"\b\d{6}[- ]?[1-8]\d{6}\b",
        confidence=0.85,
        validator=v.kr_rrn_valid,
    ),
    Rule(
        id="card-like",
        type="card",
        pattern=r"\b(?:\d[ -]?){12,18}\d\b",
        confidence=0.75,
        validator=v.luhn_valid,
    ),
    _isolated("us-ssn", "us_ssn", r"\d{3}-\d{2}-\d{4}", 0.85, v.us_ssn_valid),
    Rule(
        id="iban",
        type="iban",
        pattern=r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b",
        confidence=0.9,
        validator=v.iban_valid,
    ),
    _isolated(
        "jp-mynumber",
        "jp_mynumber",
        r"\d{12}",
        0.9,
        v.jp_mynumber_valid,
        before=r"\d-",
        after=r"\d-",
    ),
    _isolated(
        "fr-nir",
        "fr_nir",
        r"[12]\d{2}(?:0[1-9]|1[0-2]|20)(?:\d{2}|2[AB])\d{6}\d{2}",
        0.9,
        v.fr_nir_valid,
    ),
    Rule(
        id="es-dni-nie",
        type="es_dni",
        pattern=r"\b[XYZ]?\d{7,8}[A-HJ-NP-TV-Z]\b",
        confidence=0.85,
        validator=v.es_dni_nie_valid,
        ignore_case=True,
    ),
    _isolated(
        "uk-nino",
        "uk_nino",
        r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]",
        0.7,
        v.uk_nino_valid,
    ),
    Rule(
        id="it-codice-fiscale",
        type="it_codice_fiscale",
        pattern=r"\b[A-Z]{6}\d\d[A-Z]\d\d[A-Z]\d{3}[A-Z]\b",
        confidence=0.9,
        validator=v.it_codice_fiscale_valid,
        ignore_case=True,
    ),
    Rule(
        id="sg-nric",
        type="sg_nric",
        pattern=r"\b[STFGM]\d{7}[A-Z]\b",
        confidence=0.9,
        validator=v.sg_nric_valid,
        ignore_case=True,
    ),
    _isolated(
        "in-aadhaar",
        "in_aadhaar",
        r"[2-9]\d{11}",
        0.85,
        v.in_aadhaar_valid,
        before=r"\d-",
        after=r"\d-",
    ),
    Rule(
        id="de-steuer-id",
        type="de_steuer_id",
        pattern=r"\b\d{11}\b",
        confidence=0.85,
        validator=v.de_steuer_id_valid,
    ),
    Rule(
        id="nl-bsn",
        type="nl_bsn",
        pattern=r"\b\d{9}\b",
        confidence=0.8,
        validator=v.nl_bsn_valid,
    ),
    Rule(
        id="openai-like-key",
        type="api_key",
        pattern=r"\b(?:sk|rk|pk)_[A-Za-z0-9_-]{24,}",
        confidence=0.95,
    ),
    Rule(
        id="aws-access-key-id",
        type="api_key",
        pattern=r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        confidence=0.95,
    ),
    _isolated("google-api-key", "api_key", rf"\bAIza{_URL_SAFE}{{35}}", 0.9, before=""),
    _isolated(
        "sendgrid-api-key",
        "api_key",
        rf"\bSG\.{_URL_SAFE}{{22}}\.{_URL_SAFE}{{43}}",
        0.95,
        before="",
    ),
    Rule(
        id="twilio-sid",
        type="api_key",
        pattern=r"\b(?:AC|SK)[0-9a-fA-F]{32}\b",
        confidence=0.9,
    ),
    Rule(
        id="github-token",
        type="secret",
        pattern=r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
        confidence=0.95,
    ),
    Rule(
        id="slack-token",
        type="secret",
        pattern=r"\bxox[baprs]-[0-9A-Za-z-]{10,}",
        confidence=0.9,
    ),
    Rule(
        id="anthropic-api-key",
        type="secret",
        pattern=r"\bsk-ant-[A-Za-z0-9_-]{16,}",
        confidence=0.95,
    ),
    Rule(
        id="openai-api-key",
        type="secret",
        pattern=r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}",
        confidence=0.9,
    ),
    _isolated(
        "google-oauth-client-secret", "secret", rf"\bGOCSPX-{_URL_SAFE}{{28}}", 0.95, before=""
    ),
    Rule(
        id="npm-token",
        type="secret",
        pattern=r"\bnpm_[A-Za-z0-9]{36}\b",
        confidence=0.95,
    ),
    Rule(
        id="jwt",
        type="secret",
        pattern=r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
        confidence=0.9,
    ),
    Rule(
        id="pem-private-key",
        type="secret",
        pattern=r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----",
        confidence=0.98,
    ),
    Rule(
        id="bearer-token",
        type="secret",
        pattern=r"\bBearer\s+[A-Za-z0-9._~+/-]{16,}",
        confidence=0.9,
    ),
    Rule(
        id="assignment-secret",
        type="secret",
        pattern=r"[A-Za-z0-9._~+/-]{12,}",
        confidence=0.85,
        prefix=rf"(?i:{_SECRET_KEY_WORDS})[ \t]*[:=][ \t]*[\"']?",
    ),
    _injection(
        "injection-instruction-override",
        r"\b(?:ignore|disregard|forget)\s+(?:(?:all|any|the|your|my|of|everything)\s+)*"
        r"(?:previous|prior|earlier|above|system)\s+(?:instructions?|rules?|prompts?|guidelines?)\b",
        0.7,
    ),
    _injection(
        "injection-role-reassignment",
        r"\b(?:you\s+are\s+now|act\s+as)\s+(?:an?\s+)?(?:unrestricted|jailbroken|uncensored"
        r"|developer\s+mode|DAN)\b|\bnew\s+(?:system\s+)?instructions?\s*:",
        0.65,
    ),
    _injection(
        "injection-prompt-markers",
        r"<\|im_start\|>|<<SYS>>|\[system\]:|\[\[system\]\]:",
        0.7,
    ),
    _injection(
        "injection-conceal-from-user",
        r"\bdo\s+not\s+(?:tell|inform|mention|reveal|show)\s+(?:this\s+)?(?:to\s+)?the\s+user\b",
        0.7,
    ),
    _injection(
        "injection-tool-induction",
        r"\b(?:silently|secretly|immediately)\s+(?:call|invoke|run|execute)\s+(?:the\s+)?"
        r"[A-Za-z0-9_.-]+\s+tool\b",
        0.6,
    ),
)


class BuiltinDetector:
    """The 18 built-in types of spec §3 as one registered detector."""

    NAME = "builtin"
    TYPES: tuple[str, ...] = (
        "email",
        "phone",
        "kr_rrn",
        "card",
        "us_ssn",
        "iban",
        "jp_mynumber",
        "fr_nir",
        "es_dni",
        "uk_nino",
        "it_codice_fiscale",
        "sg_nric",
        "in_aadhaar",
        "de_steuer_id",
        "nl_bsn",
        "api_key",
        "secret",
        "injection",
    )

    def rules(self) -> tuple[Rule, ...]:
        return BUILTIN_RULES


@hookimpl
def haechi_register_detectors(register: Callable[[type], None]) -> None:
    register(BuiltinDetector)
