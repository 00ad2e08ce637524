"""The five privacy profiles of the reference (spec section 4), as data.

A privacy profile may only strengthen a policy; :func:`haechi.config.policy.build_policy`
applies it. Every profile blocks ``card``, ``api_key``, ``secret`` and ``jp_mynumber``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

__all__ = ["PRIVACY_PROFILES", "PrivacyProfile", "PrivacyProfileName", "TransferRules"]

PrivacyProfileName = Literal["kr-pipa", "eu-gdpr", "asia-pdpa", "us-general", "jp-appi"]

_COMMON_BLOCKS = {"card": "block", "api_key": "block", "secret": "block", "jp_mynumber": "block"}


@attrs.frozen
class TransferRules:
    requires_assessment: bool
    note: str


@attrs.frozen
class PrivacyProfile:
    name: PrivacyProfileName
    region: str
    regulations: tuple[str, ...]
    transfer: TransferRules
    actions: Mapping[str, str]


def _profile(
    name: PrivacyProfileName,
    region: str,
    regulations: tuple[str, ...],
    transfer: TransferRules,
    actions: dict[str, str],
) -> PrivacyProfile:
    return PrivacyProfile(
        name, region, regulations, transfer, MappingProxyType({**actions, **_COMMON_BLOCKS})
    )


_BLOCK = "block"

PRIVACY_PROFILES: Mapping[str, PrivacyProfile] = MappingProxyType(
    {
        profile.name: profile
        for profile in (
            _profile(
                "kr-pipa",
                "KR",
                ("PIPA",),
                TransferRules(
                    True,
                    "Cross-border transfer of personal data needs consent or a PIPA legal basis.",
                ),
                {"kr_rrn": _BLOCK, "phone": "mask", "email": "redact"},
            ),
            _profile(
                "eu-gdpr",
                "EU",
                ("GDPR",),
                TransferRules(
                    True,
                    "Transfers outside the EEA need an adequacy decision or safeguards "
                    "(GDPR Chapter V).",
                ),
                {
                    "email": "tokenize",
                    "phone": "mask",
                    **dict.fromkeys(
                        (
                            "kr_rrn",
                            "fr_nir",
                            "es_dni",
                            "uk_nino",
                            "it_codice_fiscale",
                            "de_steuer_id",
                            "nl_bsn",
                        ),
                        _BLOCK,
                    ),
                },
            ),
            _profile(
                "asia-pdpa",
                "APAC",
                ("PDPA-SG", "DPDP-IN"),
                TransferRules(
                    True, "Transfers abroad need comparable protection under the local PDPA."
                ),
                {
                    **dict.fromkeys(
                        (
                            "sg_nric",
                            "in_aadhaar",
                            "kr_rrn",
                            "fr_nir",
                            "es_dni",
                            "it_codice_fiscale",
                            "de_steuer_id",
                            "nl_bsn",
                        ),
                        _BLOCK,
                    ),
                    "phone": "mask",
                    "email": "redact",
                },
            ),
            _profile(
                "us-general",
                "US",
                ("CCPA", "GLBA", "HIPAA"),
                TransferRules(
                    False, "No general transfer restriction; sector rules may still apply."
                ),
                {"email": "redact", "phone": "mask"},
            ),
            _profile(
                "jp-appi",
                "JP",
                ("APPI",),
                TransferRules(
                    True,
                    "Transfers to third parties abroad need consent or an equivalent system "
                    "(APPI Art. 28).",
                ),
                {"phone": "mask", "email": "redact", "kr_rrn": _BLOCK},
            ),
        )
    }
)
