"""Rules that relate several config keys, or reach outside the file (TLS material, the
custom-rule screen). Single-value rules are checked by the converter instead.

Every rule runs for every command (quirk 15 fixed): what the reference checks only in
``createRuntime`` (presets, conflicts, custom regexes, profile bindings, adapters) is
checked here at load time too.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from haechi.config.converter import key_path
from haechi.config.known import KnownNames
from haechi.config.models import HaechiConfig, TlsConfig
from haechi.config.policy import policy_problems

__all__ = ["FORBIDDEN_FORWARD_HEADERS", "SUPPORTED_CONFIG_VERSION", "config_problems"]

SUPPORTED_CONFIG_VERSION = 1

#: Headers ``target.forwardHeaders`` may not name: hop-by-hop, framing and credentials.
FORBIDDEN_FORWARD_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "authorization",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def _config_version(config: HaechiConfig, known: KnownNames) -> list[str]:
    if config.config_version <= SUPPORTED_CONFIG_VERSION:
        return []
    return [
        f"$.configVersion: Unsupported configVersion {config.config_version}: this Haechi "
        f"build understands configVersion <= {SUPPORTED_CONFIG_VERSION}; upgrade Haechi"
    ]


def _forward_headers(config: HaechiConfig, known: KnownNames) -> list[str]:
    return [
        f"{key_path('$.target.forwardHeaders', index)}: the {name} header may not be forwarded"
        for index, name in enumerate(config.target.forward_headers or ())
        if name in FORBIDDEN_FORWARD_HEADERS
    ]


def _read_problem(
    path: str, key: str, looks_usable: Callable[[bytes], bool], what: str
) -> str | None:
    try:
        material = Path(path).read_bytes()
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, "unreadable")
        return f"$.proxy.tls.{key}: the file could not be read ({code})"
    if not looks_usable(material):
        return f"$.proxy.tls.{key}: the file does not hold {what}"
    return None


def _tls_shape(tls: TlsConfig) -> list[str]:
    uses_pem = tls.key_file is not None or tls.cert_file is not None
    uses_pfx = tls.pfx_file is not None
    if uses_pem and uses_pfx:
        return ["$.proxy.tls: use either keyFile and certFile, or pfxFile, not both"]
    if not uses_pem and not uses_pfx:
        return ["$.proxy.tls: expected keyFile and certFile, or pfxFile"]
    problems = []
    if uses_pem and tls.key_file is None:
        problems.append("$.proxy.tls.keyFile: required together with certFile")
    if uses_pem and tls.cert_file is None:
        problems.append("$.proxy.tls.certFile: required together with keyFile")
    if tls.passphrase is not None and not uses_pfx:
        problems.append("$.proxy.tls.passphrase: only used together with pfxFile")
    return problems


def _tls(config: HaechiConfig, known: KnownNames) -> list[str]:
    tls = config.proxy.tls
    if tls is None:
        return []
    problems = _tls_shape(tls)
    if problems:
        return problems
    checks = (
        ("keyFile", tls.key_file, lambda data: b"PRIVATE KEY-----" in data, "a PEM private key"),
        (
            "certFile",
            tls.cert_file,
            lambda data: b"-----BEGIN CERTIFICATE-----" in data,
            "a PEM certificate",
        ),
        ("pfxFile", tls.pfx_file, lambda data: len(data) > 0, "a PKCS#12 bundle"),
    )
    found = (
        _read_problem(path, key, usable, what)
        for key, path, usable, what in checks
        if path is not None
    )
    return [problem for problem in found if problem is not None]


def _custom_rules(config: HaechiConfig, known: KnownNames) -> list[str]:
    from haechi.detect.custom import check_custom_rule  # the detection engine is optional here

    problems = []
    seen_ids: set[str] = set()
    for index, rule in enumerate(config.filters.custom_rules):
        rule_path = key_path("$.filters.customRules", index)
        reason = check_custom_rule(rule.pattern, rule.flags)
        if reason is not None:
            problems.append(f"{rule_path}: {reason}")
        if rule.id in seen_ids:
            problems.append(f"{rule_path}.id: another custom rule already uses this id")
        seen_ids.add(rule.id)
    return problems


def _anchor(config: HaechiConfig, known: KnownNames) -> list[str]:
    anchor = config.audit.anchor
    if anchor.mode == "file" and anchor.path is None:
        return ['$.audit.anchor.path: required when audit.anchor.mode is "file"']
    return []


def _deterministic_types(config: HaechiConfig, known: KnownNames) -> list[str]:
    known_types = known.detector_types | {rule.type for rule in config.filters.custom_rules}
    return [
        f"{key_path('$.tokenVault.deterministicTypes', index)}: unknown detector type"
        for index, name in enumerate(config.token_vault.deterministic_types or ())
        if name not in known_types
    ]


def _auth(config: HaechiConfig, known: KnownNames) -> list[str]:
    if config.auth.provider != "plugin":
        return []
    problems = []
    if config.auth.plugin is None:
        problems.append('$.auth.plugin: required when auth.provider is "plugin"')
    if not config.plugins.enabled:
        problems.append(
            '$.auth.provider: "plugin" cannot be used while plugins are disabled '
            "(plugins.enabled is false)"
        )
    return problems


#: Each rule with the sections it reads: a rule is skipped when one of them failed to
#: structure (its problems are reported already, and a stand-in default would mislead).
_RULES: tuple[tuple[Callable[[HaechiConfig, KnownNames], list[str]], frozenset[str]], ...] = (
    (_config_version, frozenset({"config_version"})),
    (_forward_headers, frozenset({"target"})),
    (_tls, frozenset({"proxy"})),
    (policy_problems, frozenset({"policy", "filters", "privacy"})),
    (_custom_rules, frozenset({"filters"})),
    (_anchor, frozenset({"audit"})),
    (_deterministic_types, frozenset({"token_vault", "filters"})),
    (_auth, frozenset({"auth", "plugins"})),
)


def config_problems(
    config: HaechiConfig, known: KnownNames, *, failed_sections: frozenset[str] = frozenset()
) -> list[str]:
    """Every cross-key problem of a structured config, one line each. Rules reading a
    section named in ``failed_sections`` (attribute names) are skipped."""
    return [
        problem
        for rule, sections in _RULES
        if not sections & failed_sections
        for problem in rule(config, known)
    ]
