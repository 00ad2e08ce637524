"""Frozen attrs models of ``haechi.config.json`` (spec section 2).

Attribute names are snake_case; the JSON keys are their camelCase form (the converter
renames them). Every field has the reference default, except the few that must be
"unset" to be meaningful: ``policy.mode`` (None means "use the top-level ``mode``", the
fix of quirk 3) and ``policy.defaultAction`` (None means "redact unless a preset sets
one", see docs/decisions/0002-strict-config.md).

Constraints that concern one value live in the field type (``PortNumber``,
``ActionName``, ...) and are checked while structuring; rules that relate several keys
live in :mod:`haechi.config.validation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import attrs

from haechi.config.constraints import (
    ActionName,
    AdapterName,
    AdapterOrAlias,
    AuditSinkName,
    AuthenticatorName,
    CryptoProviderName,
    Fraction,
    HeaderName,
    HttpUrl,
    NonEmpty,
    NonEmptyStr,
    NonNegativeInt,
    PortNumber,
    PositiveInt,
    PresetName,
    TokenStoreName,
)
from haechi.config.profiles import PrivacyProfileName

__all__ = [
    "AllowlistEntry",
    "AnchorConfig",
    "AuditConfig",
    "AuthConfig",
    "AuthPluginConfig",
    "CustomRule",
    "FiltersConfig",
    "HaechiConfig",
    "KeysConfig",
    "LimitsConfig",
    "LogFormat",
    "LoggingConfig",
    "McpConfig",
    "MetricsConfig",
    "Mode",
    "PluginsConfig",
    "PolicyConfig",
    "PolicyProfileConfig",
    "PrivacyConfig",
    "ProfileBindingConfig",
    "ProxyConfig",
    "RateConfig",
    "ResponseProtectionConfig",
    "StreamingConfig",
    "TargetConfig",
    "TlsConfig",
    "TokenVaultConfig",
]

Mode = Literal["dry-run", "report-only", "enforce"]
LogFormat = Literal["text", "json"]

_NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})


def _deduplicated(names: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(dict.fromkeys(names))


# --------------------------------------------------------------------------------------
# target, proxy
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TargetConfig:
    type: AdapterOrAlias = "llm-http"
    adapter: AdapterName = "openai-compatible"
    upstream: HttpUrl = "http://127.0.0.1:9999"
    #: Extra request headers forwarded upstream; duplicates are dropped.
    forward_headers: tuple[HeaderName, ...] | None = attrs.field(
        default=None, converter=_deduplicated
    )


@attrs.frozen(kw_only=True)
class TlsConfig:
    """Either ``keyFile`` + ``certFile`` (PEM) or ``pfxFile`` with an optional passphrase."""

    key_file: NonEmptyStr | None = None
    cert_file: NonEmptyStr | None = None
    pfx_file: NonEmptyStr | None = None
    passphrase: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class ProxyConfig:
    host: NonEmptyStr = "127.0.0.1"
    port: PortNumber = 11016
    tls: TlsConfig | None = None
    trust_forwarded_proto: bool = False


# --------------------------------------------------------------------------------------
# response protection, streaming, limits
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ResponseProtectionConfig:
    enabled: bool = False
    mode: Mode = "enforce"
    failure_mode: Literal["fail-closed", "allow"] = "fail-closed"
    allow_non_json: bool = False
    allow_compressed: bool = False
    max_bytes: PositiveInt = 1048576
    scan_numbers: bool = False


@attrs.frozen(kw_only=True)
class StreamingConfig:
    request_mode: Literal["block", "pass-through", "inspect"] = "block"
    response_mode: Mode = "enforce"
    max_match_bytes: PositiveInt = 256


#: Node's ``server.requestTimeout`` and ``server.headersTimeout`` defaults (Node 18+).
NODE_REQUEST_TIMEOUT_MS = 300_000
NODE_HEADERS_TIMEOUT_MS = 60_000


@attrs.frozen(kw_only=True)
class LimitsConfig:
    max_request_bytes: PositiveInt = 1048576
    upstream_timeout_ms: PositiveInt = 120000
    max_nesting_depth: PositiveInt = 256
    max_in_flight: NonNegativeInt = 0
    shutdown_grace_ms: NonNegativeInt = 10000
    request_timeout_ms: NonNegativeInt | None = None
    headers_timeout_ms: NonNegativeInt | None = None

    # ``null`` leaves the server's own default in place. The reference's server is Node's,
    # whose defaults (since Node 18) are 300 s for a whole request and 60 s for its head;
    # the same limits apply here, so leaving the keys unset never means "no limit" (0 does).
    @property
    def effective_request_timeout_ms(self) -> int:
        """``requestTimeoutMs``, or Node's default of 300,000 when null; 0 = no limit."""
        configured = self.request_timeout_ms
        return NODE_REQUEST_TIMEOUT_MS if configured is None else configured

    @property
    def effective_headers_timeout_ms(self) -> int:
        """``headersTimeoutMs``, or Node's default of 60,000 when null; 0 = no limit."""
        configured = self.headers_timeout_ms
        return NODE_HEADERS_TIMEOUT_MS if configured is None else configured


# --------------------------------------------------------------------------------------
# policy
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RateConfig:
    requests_per_minute: PositiveInt


@attrs.frozen(kw_only=True)
class PolicyProfileConfig:
    """A named override of the base policy, chosen per client by ``profileBinding``.
    An unset field inherits the base policy; ``actions`` is merged key by key."""

    presets: tuple[PresetName, ...] | None = None
    default_action: ActionName | None = None
    actions: Mapping[str, ActionName] | None = None
    allow_unsafe_overrides: bool | None = None
    model_allowlist: tuple[NonEmptyStr, ...] | None = None
    rate: RateConfig | None = None


@attrs.frozen(kw_only=True)
class ProfileBindingConfig:
    """Which profile a client gets: first matching scope, then label (``"k=v"``), then
    ``default``."""

    by_scope: Mapping[str, NonEmptyStr] | None = None
    by_label: Mapping[str, NonEmptyStr] | None = None
    default: NonEmptyStr


@attrs.frozen(kw_only=True)
class PolicyConfig:
    #: None: the top-level ``mode`` applies (quirk 3 fixed).
    mode: Mode | None = None
    presets: tuple[PresetName, ...] = ("korean-pii", "secrets-only", "llm-redact")
    #: None: ``redact`` unless a preset sets a default action.
    default_action: ActionName | None = None
    #: Merged key by key over ``{"card": "block"}`` by the loader.
    actions: Mapping[str, ActionName] = MappingProxyType({"card": "block"})
    allow_unsafe_overrides: bool = False
    bundle_path: NonEmptyStr | None = None
    model_allowlist: tuple[NonEmptyStr, ...] | None = None
    rate: RateConfig | None = None
    profiles: Mapping[str, PolicyProfileConfig] | None = None
    profile_binding: ProfileBindingConfig | None = None


# --------------------------------------------------------------------------------------
# filters
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CustomRule:
    id: NonEmptyStr
    type: NonEmptyStr
    pattern: NonEmptyStr = attrs.field(repr=False)
    flags: str = "g"
    confidence: Fraction = 0.7


@attrs.frozen(kw_only=True)
class AllowlistEntry:
    """Suppresses a detection whose value equals ``value`` and/or whose PII-safe path
    equals ``path``. A bare string in the JSON is a ``value`` entry."""

    value: NonEmptyStr | None = attrs.field(default=None, repr=False)
    path: NonEmptyStr | None = None


@attrs.frozen(kw_only=True)
class FiltersConfig:
    custom_rules: tuple[CustomRule, ...] = ()
    min_confidence: Fraction = 0.0
    allowlist: tuple[AllowlistEntry, ...] = ()
    decode_and_rescan: bool = False


# --------------------------------------------------------------------------------------
# keys, audit, token vault, privacy
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class KeysConfig:
    provider: CryptoProviderName = "local"
    key_file: NonEmptyStr = ".haechi/dev.keys.json"


@attrs.frozen(kw_only=True)
class AnchorConfig:
    mode: Literal["none", "file", "stdout"] = "none"
    path: NonEmptyStr | None = ".haechi/audit.anchor.jsonl"
    every_records: PositiveInt = 1


@attrs.frozen(kw_only=True)
class AuditConfig:
    sink: AuditSinkName = "jsonl"
    path: NonEmptyStr = ".haechi/audit.jsonl"
    anchor: AnchorConfig = AnchorConfig()


@attrs.frozen(kw_only=True)
class TokenVaultConfig:
    provider: TokenStoreName = "local"
    path: NonEmptyStr = ".haechi/token-vault.sqlite3"
    reveal_policy: Literal["disabled", "local-dev"] = "disabled"
    retention_days: PositiveInt = 30
    deterministic: bool = False
    deterministic_types: Annotated[tuple[NonEmptyStr, ...], NonEmpty()] | None = None
    detokenize_responses: bool = False


@attrs.frozen(kw_only=True)
class PrivacyConfig:
    profile: PrivacyProfileName | None = None


# --------------------------------------------------------------------------------------
# logging, metrics, auth, plugins, mcp
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LoggingConfig:
    format: LogFormat = "text"


@attrs.frozen(kw_only=True)
class MetricsConfig:
    enabled: bool = True


@attrs.frozen(kw_only=True)
class AuthPluginConfig:
    """The sandboxed authentication plugin (spec section 11), for ``provider: plugin``."""

    manifest: NonEmptyStr
    #: Signer key id -> path of its Ed25519 public key (PEM).
    trust_anchors: Mapping[str, NonEmptyStr] = _NO_ENTRIES
    isolation: Literal["worker", "process"] = "worker"
    max_pending_calls: PositiveInt = 8
    max_message_bytes: PositiveInt = 16384
    timeout_ms: PositiveInt = 1000
    max_memory_mb: PositiveInt = 128
    allowed_capabilities: tuple[NonEmptyStr, ...] = ()


@attrs.frozen(kw_only=True)
class AuthConfig:
    provider: AuthenticatorName = "none"
    store: NonEmptyStr = ".haechi/auth.json"
    allowed_label_keys: tuple[NonEmptyStr, ...] = ("team", "env", "tier", "role")
    plugin: AuthPluginConfig | None = None


@attrs.frozen(kw_only=True)
class PluginsConfig:
    enabled: bool = True


@attrs.frozen(kw_only=True)
class McpConfig:
    allowed_methods: Annotated[tuple[NonEmptyStr, ...], NonEmpty()] = (
        "initialize",
        "tools/call",
        "resources/read",
        "prompts/get",
    )
    protect_params: bool = True
    protect_results: bool = True
    require_json_rpc: bool = True
    pin_tools: Literal["off", "audit", "enforce"] = "off"
    max_line_bytes: PositiveInt = 16 * 1024 * 1024


# --------------------------------------------------------------------------------------
# root
# --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HaechiConfig:
    """The whole validated configuration. ``sections`` holds plugin-owned top-level
    sections (hook ``haechi_register_config_sections``), keyed by their JSON name."""

    config_version: PositiveInt = 1
    mode: Mode = "dry-run"
    target: TargetConfig = TargetConfig()
    proxy: ProxyConfig = ProxyConfig()
    response_protection: ResponseProtectionConfig = ResponseProtectionConfig()
    streaming: StreamingConfig = StreamingConfig()
    limits: LimitsConfig = LimitsConfig()
    policy: PolicyConfig = PolicyConfig()
    filters: FiltersConfig = FiltersConfig()
    keys: KeysConfig = KeysConfig()
    audit: AuditConfig = AuditConfig()
    token_vault: TokenVaultConfig = TokenVaultConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    auth: AuthConfig = AuthConfig()
    plugins: PluginsConfig = PluginsConfig()
    mcp: McpConfig = McpConfig()
    sections: Mapping[str, Any] = attrs.field(default=_NO_ENTRIES, metadata={"json": False})

    @property
    def effective_mode(self) -> Mode:
        """``policy.mode`` when the file sets it, else the top-level ``mode``."""
        return self.policy.mode if self.policy.mode is not None else self.mode
