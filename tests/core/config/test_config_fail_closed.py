"""Every bad config is refused, naming the exact key path and what was expected."""

from __future__ import annotations

import pytest

BAD_VALUES = [
    # wrong JSON types: no coercion
    ("metrics.enabled", "false", "$.metrics.enabled: expected a boolean"),
    ("responseProtection.scanNumbers", 1, "$.responseProtection.scanNumbers: expected a boolean"),
    ("proxy.port", 8080.9, "$.proxy.port: expected an integer, got a number"),
    ("proxy.port", "8080", "$.proxy.port: expected an integer, got a string"),
    ("proxy.port", True, "$.proxy.port: expected an integer, got a boolean"),
    ("limits.maxRequestBytes", True, "$.limits.maxRequestBytes: expected an integer"),
    ("limits.requestTimeoutMs", "10", "$.limits.requestTimeoutMs: expected an integer"),
    ("filters.minConfidence", "0.5", "$.filters.minConfidence: expected a number"),
    ("auth.allowedLabelKeys", "team", "$.auth.allowedLabelKeys: expected an array"),
    ("policy.presets", "korean-pii", "$.policy.presets: expected an array"),
    ("policy", "strict", "$.policy: expected an object"),
    ("policy.actions", ["card"], "$.policy.actions: expected an object"),
    # ranges and emptiness
    ("proxy.port", 70000, "$.proxy.port: expected an integer from 0 to 65535"),
    ("proxy.port", -1, "$.proxy.port: expected an integer from 0 to 65535"),
    ("proxy.host", "", "$.proxy.host: expected a non-empty string"),
    ("limits.maxNestingDepth", 0, "$.limits.maxNestingDepth: expected an integer of at least 1"),
    ("limits.maxInFlight", -1, "$.limits.maxInFlight: expected an integer of at least 0"),
    ("filters.minConfidence", 1.5, "$.filters.minConfidence: expected a number from 0 to 1"),
    (
        "audit.anchor.everyRecords",
        0,
        "$.audit.anchor.everyRecords: expected an integer of at least 1",
    ),
    (
        "tokenVault.retentionDays",
        0,
        "$.tokenVault.retentionDays: expected an integer of at least 1",
    ),
    (
        "tokenVault.deterministicTypes",
        [],
        "$.tokenVault.deterministicTypes: expected a non-empty array",
    ),
    ("mcp.allowedMethods", [], "$.mcp.allowedMethods: expected a non-empty array"),
    ("policy.modelAllowlist", [""], "$.policy.modelAllowlist[0]: expected a non-empty string"),
    (
        "policy.rate",
        {"requestsPerMinute": 0},
        "$.policy.rate.requestsPerMinute: expected an integer of at least 1",
    ),
    ("filters.allowlist", [{}], "$.filters.allowlist[0]: expected at least one of value or path"),
    ("configVersion", 0, "$.configVersion: expected an integer of at least 1"),
    ("configVersion", 2, "$.configVersion: Unsupported configVersion 2"),
    # closed sets
    ("mode", "enforced", '$.mode: expected one of "dry-run", "report-only", "enforce"'),
    ("policy.mode", "ENFORCE", "$.policy.mode: expected one of"),
    ("privacy.profile", "eu", "$.privacy.profile: expected one of"),
    ("logging.format", "yaml", "$.logging.format: expected one of"),
    ("responseProtection.failureMode", "open", "$.responseProtection.failureMode: expected one of"),
    ("streaming.requestMode", "stream", "$.streaming.requestMode: expected one of"),
    ("tokenVault.revealPolicy", "always", "$.tokenVault.revealPolicy: expected one of"),
    # registered names
    ("target.type", "openai", '$.target.type: unknown adapter or alias "openai"'),
    ("target.adapter", "olama", '$.target.adapter: unknown adapter "olama"'),
    ("keys.provider", "kms", '$.keys.provider: unknown crypto provider "kms"'),
    ("audit.sink", "syslog", '$.audit.sink: unknown audit sink "syslog"'),
    ("tokenVault.provider", "redis", '$.tokenVault.provider: unknown token store "redis"'),
    ("auth.provider", "jwt", '$.auth.provider: unknown authenticator "jwt"'),
    ("policy.presets", ["korean-pii", "kr-pii"], '$.policy.presets[1]: unknown preset "kr-pii"'),
    ("policy.defaultAction", "redcat", '$.policy.defaultAction: unknown action "redcat"'),
    ("policy.actions", {"card": "hash"}, '$.policy.actions.card: unknown action "hash"'),
    ("policy.actions", {"emial": "block"}, "$.policy.actions.emial: unknown detector type"),
    # cross-key rules
    (
        "policy.actions",
        {"kr_rrn": "redact"},
        "$.policy.actions.kr_rrn: Policy action conflict for kr_rrn: "
        "policy.actions cannot weaken block to redact",
    ),
    ("target.upstream", "not a url", "$.target.upstream: expected an http:// or https:// URL"),
    ("target.forwardHeaders", ["X-Team"], "$.target.forwardHeaders[0]: expected a lowercase name"),
    ("target.forwardHeaders", ["x-team", ""], "$.target.forwardHeaders[1]: expected a non-empty"),
    (
        "target.forwardHeaders",
        ["x-team", "authorization"],
        "$.target.forwardHeaders[1]: the authorization header may not be forwarded",
    ),
    ("audit.anchor", {"mode": "file", "path": None}, "$.audit.anchor.path: required when"),
    ("auth.provider", "plugin", '$.auth.plugin: required when auth.provider is "plugin"'),
    ("tokenVault.deterministicTypes", ["emial"], "$.tokenVault.deterministicTypes[0]: unknown"),
    (
        "policy.profiles",
        {"team-a": {"actions": {"email": "mask"}}},
        "$.policy.profileBinding: required when policy.profiles is set",
    ),
    (
        "policy.profileBinding",
        {"default": "nobody"},
        "$.policy.profileBinding.default: names no profile declared",
    ),
    (
        "policy.profileBinding",
        {"byScope": {}},
        "$.policy.profileBinding.default: required key is missing",
    ),
    (
        "filters.customRules",
        [{"id": "order", "type": "order_id", "pattern": "(a+)+$"}],
        "$.filters.customRules[0]: pattern has a nested quantifier",
    ),
    (
        "filters.customRules",
        [{"id": "rep", "type": "rep", "pattern": "(x)\\1"}],
        "$.filters.customRules[0]: pattern uses a backreference",
    ),
    (
        "filters.customRules",
        [{"id": "long", "type": "long", "pattern": "a" * 501}],
        "$.filters.customRules[0]: pattern is 501 characters long",
    ),
    (
        "filters.customRules",
        [{"id": "f", "type": "f", "pattern": "ab", "flags": "gx"}],
        "$.filters.customRules[0]: flags may only contain",
    ),
    (
        "filters.customRules",
        [{"id": "x", "type": "x"}],
        "$.filters.customRules[0].pattern: required key is missing",
    ),
    # unknown keys at every level
    ("modee", "enforce", "$.modee: unknown key"),
    ("proxy.listen", "0.0.0.0", "$.proxy.listen: unknown key"),
    ("audit.anchor.pth", "x", "$.audit.anchor.pth: unknown key"),
    ("policy.rate", {"requestsPerMinute": 5, "burst": 2}, "$.policy.rate.burst: unknown key"),
    (
        "filters.customRules",
        [{"id": "x", "type": "x", "pattern": "ab", "validator": "luhn"}],
        "$.filters.customRules[0].validator: unknown key",
    ),
    ("filters.allowlist", [{"value": "x", "why": "y"}], "$.filters.allowlist[0].why: unknown key"),
]


@pytest.mark.parametrize(
    ("dotted", "value", "expected"), BAD_VALUES, ids=[f"{d}={v!r}"[:60] for d, v, _ in BAD_VALUES]
)
def test_bad_value_is_refused_naming_its_key(with_value, problems_of, dotted, value, expected):
    problems = problems_of(with_value(dotted, value))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_unknown_key_inside_a_named_profile(with_value, problems_of):
    raw = with_value("policy.profiles", {"team-a": {"action": {"email": "mask"}}})
    raw = with_value("policy.profileBinding", {"default": "team-a"}, raw)
    assert any(
        p.startswith("$.policy.profiles.team-a.action: unknown key") for p in problems_of(raw)
    )


def test_weakening_inside_a_profile_names_the_profile_key(with_value, problems_of):
    raw = with_value("policy.profiles", {"team a": {"actions": {"secret": "mask"}}})
    raw = with_value("policy.profileBinding", {"default": "team a"}, raw)
    assert problems_of(raw) == (
        '$.policy.profiles["team a"].actions.secret: Policy action conflict for secret: '
        'policy.profiles["team a"].actions cannot weaken block to mask',
    )


def test_three_problems_in_three_sections_are_all_reported(with_value, problems_of):
    raw = with_value("proxy.port", "8080")
    raw = with_value("metrics.enabled", "false", raw)
    raw = with_value("policy.actions", {"kr_rrn": "allow"}, raw)
    problems = problems_of(raw)
    assert len(problems) == 3
    assert problems[0].startswith("$.proxy.port:")
    assert problems[1].startswith("$.metrics.enabled:")
    assert problems[2].startswith("$.policy.actions.kr_rrn: Policy action conflict")


def test_three_problems_in_one_section_are_all_reported(with_value, problems_of):
    raw = with_value("limits", {"maxRequestBytes": 0, "maxInFlight": -2, "unknown": 1})
    assert sorted(problems_of(raw)) == [
        "$.limits.maxInFlight: expected an integer of at least 0",
        "$.limits.maxRequestBytes: expected an integer of at least 1",
        "$.limits.unknown: unknown key (allowed keys: maxRequestBytes, upstreamTimeoutMs, "
        "maxNestingDepth, maxInFlight, shutdownGraceMs, requestTimeoutMs, headersTimeoutMs)",
    ]


def test_bad_env_values_name_the_variable(defaults, problems_of):
    env = {
        "HAECHI_PROXY_PORT": "80a",
        "HAECHI_PROXY_HOST": "",
        "HAECHI_UPSTREAM": "ftp://example.org",
        "HAECHI_MODE": "on",
        "HAECHI_LOG_FORMAT": "xml",
    }
    problems = problems_of(defaults, env)
    assert [problem.split(":")[0] for problem in problems] == list(env)


@pytest.mark.parametrize("port", ["65536", "-1", "8080.0", " 8080", "0x50", ""])
def test_env_port_must_be_a_plain_integer_in_range(defaults, problems_of, port):
    assert problems_of(defaults, {"HAECHI_PROXY_PORT": port}) == (
        "HAECHI_PROXY_PORT: expected an integer from 0 to 65535",
    )


SENSITIVE = "minji.kim@example.com"


def test_problems_never_repeat_configured_values(with_value, problems_of):
    raw = with_value(
        "filters.customRules", [{"id": "x", "type": "x", "pattern": f"({SENSITIVE}+)+"}]
    )
    raw = with_value("proxy.tls", {"pfxFile": "/nonexistent.pfx", "passphrase": 1234}, raw)
    raw = with_value("policy.modelAllowlist", [SENSITIVE, 7], raw)
    raw = with_value("target.upstream", f"mailto:{SENSITIVE}", raw)
    problems = problems_of(raw, {"HAECHI_UPSTREAM": f"ftp://{SENSITIVE}"})
    assert [problem.split(":")[0] for problem in problems] == [
        "HAECHI_UPSTREAM",
        "$.target.upstream",
        "$.proxy.tls.passphrase",
        "$.policy.modelAllowlist[1]",
        "$.filters.customRules[0]",
    ]
    allowlisted = with_value("filters.allowlist", [SENSITIVE, {"value": SENSITIVE, "path": 3}])
    problems += problems_of(allowlisted)
    assert all(SENSITIVE not in problem for problem in problems), problems
