"""Loading: defaults, files, the env overlay, the effective mode, plugin sections."""

from __future__ import annotations

import datetime
import json
from importlib import resources

import attrs
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from haechi.config import (
    HaechiConfig,
    KnownNames,
    config_from_dict,
    default_config_dict,
    load_config,
)
from haechi.config.models import AllowlistEntry
from haechi.errors import ConfigError


def test_default_dict_loads_to_the_defaults(defaults):
    assert config_from_dict(defaults, env={}) == HaechiConfig()
    assert config_from_dict({}, env={}) == HaechiConfig()


def test_default_dict_is_plain_json_with_camel_case_keys(defaults):
    assert json.loads(json.dumps(defaults)) == defaults
    assert defaults["responseProtection"]["maxBytes"] == 1048576
    assert defaults["tokenVault"]["retentionDays"] == 30
    assert defaults["policy"]["actions"] == {"card": "block"}
    assert defaults["policy"]["mode"] is None


def test_bundled_example_is_the_default_config():
    example = resources.files("haechi.examples").joinpath("haechi.config.example.json")
    assert json.loads(example.read_text(encoding="utf-8")) == default_config_dict()


def test_reference_defaults(defaults):
    config = HaechiConfig()
    assert (config.proxy.host, config.proxy.port) == ("127.0.0.1", 11016)
    assert config.target.upstream == "http://127.0.0.1:9999"
    assert config.policy.presets == ("korean-pii", "secrets-only", "llm-redact")
    assert config.limits.max_nesting_depth == 256
    assert config.streaming.max_match_bytes == 256
    assert config.mcp.allowed_methods[0] == "initialize"
    assert config.auth.allowed_label_keys == ("team", "env", "tier", "role")


def test_load_from_file(write_config):
    path = write_config({"proxy": {"port": 0}, "policy": {"actions": {"email": "mask"}}})
    config = load_config(path, env={})
    assert config.proxy.port == 0
    assert dict(config.policy.actions) == {"card": "block", "email": "mask"}


def test_missing_file_says_to_run_init(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env={})
    assert caught.value.problems == (
        f"{missing}: config file not found; run 'haechi init' to create one",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"mode": "enforce",}', "config file is not valid JSON"),
        ('{"mode": "enforce", "mode": "dry-run"}', 'the key "mode" appears twice'),
        ('{"filters": {"minConfidence": NaN}}', "NaN is not valid JSON"),
        ('["mode"]', "the config must be a JSON object"),
    ],
)
def test_unparseable_file_is_one_line_naming_the_path(tmp_path, text, expected):
    path = tmp_path / "haechi.config.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: ") and expected in problem


def test_env_overlay_wins_over_the_file(with_value):
    raw = with_value("proxy.port", 1234)
    env = {
        "HAECHI_PROXY_PORT": "0",
        "HAECHI_PROXY_HOST": "::1",
        "HAECHI_UPSTREAM": "https://llm.internal:8443/base",
        "HAECHI_MODE": "enforce",
        "HAECHI_LOG_FORMAT": "json",
        "HAECHI_KEYS_KEY_FILE": "/tmp/elsewhere.json",  # not an overlay variable
    }
    config = config_from_dict(raw, env=env)
    assert (config.proxy.port, config.proxy.host) == (0, "::1")
    assert config.target.upstream == "https://llm.internal:8443/base"
    assert config.mode == "enforce" and config.logging.format == "json"
    assert config.keys.key_file == ".haechi/dev.keys.json"


def test_env_overlay_does_not_mask_a_broken_section(problems_of):
    assert problems_of({"proxy": 5}, {"HAECHI_PROXY_PORT": "80"}) == (
        "$.proxy: expected an object, got an integer",
    )


def test_env_defaults_to_the_process_environment(monkeypatch):
    monkeypatch.setenv("HAECHI_PROXY_PORT", "4242")
    assert config_from_dict({}).proxy.port == 4242


@pytest.mark.parametrize(
    ("raw", "env", "effective"),
    [
        ({}, {}, "dry-run"),
        ({"mode": "enforce"}, {}, "enforce"),  # quirk 3 fixed
        ({"mode": "report-only"}, {}, "report-only"),
        ({}, {"HAECHI_MODE": "enforce"}, "enforce"),
        ({"mode": "enforce", "policy": {"mode": "dry-run"}}, {}, "dry-run"),
        ({"policy": {"mode": "enforce"}}, {}, "enforce"),
        ({"policy": {"mode": None}, "mode": "enforce"}, {}, "enforce"),
    ],
)
def test_top_level_mode_takes_effect_unless_policy_mode_is_set(raw, env, effective):
    assert config_from_dict(raw, env=env).effective_mode == effective


def test_forward_headers_are_deduplicated():
    config = config_from_dict({"target": {"forwardHeaders": ["x-a", "x-b", "x-a"]}}, env={})
    assert config.target.forward_headers == ("x-a", "x-b")


def test_allowlist_accepts_strings_and_entries():
    config = config_from_dict(
        {"filters": {"allowlist": ["ops@example.com", {"path": "key_f5cccfb73751"}]}}, env={}
    )
    assert config.filters.allowlist == (
        AllowlistEntry(value="ops@example.com"),
        AllowlistEntry(path="key_f5cccfb73751"),
    )


def test_custom_rule_types_may_be_given_actions():
    raw = {
        "filters": {
            "customRules": [{"id": "order", "type": "order_id", "pattern": "ORD-[0-9]{8}"}]
        },
        "policy": {"actions": {"order_id": "tokenize"}},
    }
    config = config_from_dict(raw, env={})
    assert config.filters.custom_rules[0].flags == "g"
    assert config.filters.custom_rules[0].confidence == 0.7
    assert config.policy.actions["order_id"] == "tokenize"


def test_duplicate_custom_rule_ids_are_refused(problems_of):
    rule = {"id": "order", "type": "order_id", "pattern": "ORD-[0-9]{8}"}
    assert problems_of({"filters": {"customRules": [rule, rule]}}) == (
        "$.filters.customRules[1].id: another custom rule already uses this id",
    )


def test_plugin_disabled_refuses_the_plugin_authenticator(problems_of):
    raw = {
        "auth": {"provider": "plugin", "plugin": {"manifest": "p.json"}},
        "plugins": {"enabled": False},
    }
    assert problems_of(raw) == (
        '$.auth.provider: "plugin" cannot be used while plugins are disabled '
        "(plugins.enabled is false)",
    )


def test_config_is_frozen():
    config = HaechiConfig()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.mode = "enforce"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.policy.actions["card"] = "allow"  # type: ignore[index]


def test_registered_names_extend_what_is_accepted():
    builtin = KnownNames.builtin()
    known = attrs.evolve(builtin, adapters=builtin.adapters | {"bedrock"})
    config = config_from_dict({"target": {"type": "bedrock"}}, env={}, known=known)
    assert known.adapter_for(config.target.type, config.target.adapter) == "bedrock"
    with pytest.raises(ConfigError):
        config_from_dict({"target": {"type": "bedrock"}}, env={})


def test_alias_type_uses_the_configured_adapter():
    known = KnownNames.builtin()
    config = config_from_dict({"target": {"type": "llm-http", "adapter": "ollama"}}, env={})
    assert known.adapter_for(config.target.type, config.target.adapter) == "ollama"
    config = config_from_dict({"target": {"type": "gemini"}}, env={})
    assert known.adapter_for(config.target.type, config.target.adapter) == "gemini"


# --------------------------------------------------------------------------------------
# plugin-owned sections
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DashboardSection:
    NAME = "dashboard"
    enabled: bool = False
    refresh_seconds: int = 5


def test_plugin_section_is_validated_and_exposed():
    sections = {"dashboard": DashboardSection}
    config = config_from_dict({"dashboard": {"refreshSeconds": 9}}, env={}, extra_sections=sections)
    assert config.sections["dashboard"] == DashboardSection(refresh_seconds=9)
    assert (
        config_from_dict({}, env={}, extra_sections=sections).sections["dashboard"]
        == DashboardSection()
    )
    assert default_config_dict(sections)["dashboard"] == {"enabled": False, "refreshSeconds": 5}


def test_plugin_section_is_as_strict_as_the_core(problems_of):
    with pytest.raises(ConfigError) as caught:
        config_from_dict(
            {"dashboard": {"enabled": "yes", "colour": "red"}, "proxy": {"port": "1"}},
            env={},
            extra_sections={"dashboard": DashboardSection},
        )
    assert sorted(caught.value.problems) == [
        "$.dashboard.colour: unknown key (allowed keys: enabled, refreshSeconds)",
        "$.dashboard.enabled: expected a boolean (true or false), got a string",
        "$.proxy.port: expected an integer, got a string",
    ]
    assert problems_of({"dashboard": {}}) == (
        "$.dashboard: unknown key (allowed keys: configVersion, mode, target, proxy, "
        "responseProtection, streaming, limits, policy, filters, keys, audit, tokenVault, "
        "privacy, logging, metrics, auth, plugins, mcp)",
    )


def test_plugin_section_may_not_shadow_a_core_key():
    with pytest.raises(ConfigError) as caught:
        config_from_dict({}, env={}, extra_sections={"proxy": DashboardSection})
    assert caught.value.problems == ("$.proxy: a plugin section may not reuse a core key",)


# --------------------------------------------------------------------------------------
# TLS material is checked at load
# --------------------------------------------------------------------------------------


@pytest.fixture
def pem_pair(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


def test_valid_tls_pair_loads(pem_pair):
    key_file, cert_file = pem_pair
    config = config_from_dict(
        {"proxy": {"tls": {"keyFile": key_file, "certFile": cert_file}}}, env={}
    )
    assert config.proxy.tls.cert_file == cert_file


@pytest.mark.parametrize(
    ("tls", "expected"),
    [
        (
            {"keyFile": "MISSING", "certFile": "CERT"},
            ["$.proxy.tls.keyFile: the file could not be read (ENOENT)"],
        ),
        (
            {"keyFile": "CERT", "certFile": "CERT"},
            ["$.proxy.tls.keyFile: the file does not hold a PEM private key"],
        ),
        (
            {"keyFile": "KEY", "certFile": "KEY"},
            ["$.proxy.tls.certFile: the file does not hold a PEM certificate"],
        ),
        ({"keyFile": "KEY"}, ["$.proxy.tls.certFile: required together with keyFile"]),
        ({"certFile": "CERT"}, ["$.proxy.tls.keyFile: required together with certFile"]),
        (
            {"keyFile": "KEY", "certFile": "CERT", "pfxFile": "KEY"},
            ["$.proxy.tls: use either keyFile and certFile, or pfxFile, not both"],
        ),
        ({}, ["$.proxy.tls: expected keyFile and certFile, or pfxFile"]),
        (
            {"keyFile": "KEY", "certFile": "CERT", "passphrase": "pw"},
            ["$.proxy.tls.passphrase: only used together with pfxFile"],
        ),
        ({"pfxFile": "DIR"}, ["$.proxy.tls.pfxFile: the file could not be read (EISDIR)"]),
        ({"pfxFile": "KEY", "password": "x"}, None),
    ],
)
def test_tls_shape_and_files(pem_pair, tmp_path, problems_of, tls, expected):
    key_file, cert_file = pem_pair
    replace = {
        "KEY": key_file,
        "CERT": cert_file,
        "MISSING": str(tmp_path / "missing.pem"),
        "DIR": str(tmp_path),
    }
    tls = {k: replace.get(v, v) for k, v in tls.items()}
    problems = problems_of({"proxy": {"tls": tls}})
    if expected is None:
        assert problems[0].startswith("$.proxy.tls.password: unknown key")
    else:
        assert list(problems) == expected
