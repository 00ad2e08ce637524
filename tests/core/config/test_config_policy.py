"""Policy merge rules (spec section 4), privacy profiles, profiles (section 9), bundles."""

from __future__ import annotations

import pytest
from haechi.config import (
    BUILTIN_DETECTOR_TYPES,
    PRESETS,
    PRIVACY_PROFILES,
    KnownNames,
    build_policy,
    build_policy_set,
    config_from_dict,
    policy_from_bundle,
)
from haechi.config.models import PolicyConfig
from haechi.config.profiles import PrivacyProfileName
from haechi.errors import ConfigError, PolicyError

KNOWN = KnownNames.builtin()


def policy_of(privacy_profile=None, **policy):
    config = config_from_dict({"policy": policy, "privacy": {"profile": privacy_profile}}, env={})
    return build_policy(config.policy, known=KNOWN, privacy_profile=config.privacy.profile)


def test_effective_default_policy_table():
    policy = policy_of()
    assert policy.default_action == "redact"
    expected = {
        "kr_rrn": "block",
        "api_key": "block",
        "secret": "block",
        "card": "block",
        "phone": "mask",
        "email": "redact",
        "injection": "allow",
    }
    for detected_type in BUILTIN_DETECTOR_TYPES:
        assert policy.action_for(detected_type) == expected.get(detected_type, "redact")


def test_presets_and_profiles_are_the_reference_data():
    assert set(PRESETS) == {
        "llm-redact",
        "korean-pii",
        "secrets-only",
        "strict-block",
        "mcp-basic",
        "local-inference",
        "local-only",
    }
    assert set(PRIVACY_PROFILES) == set(PrivacyProfileName.__args__)
    for profile in PRIVACY_PROFILES.values():
        for detected_type in ("card", "api_key", "secret", "jp_mynumber"):
            assert profile.actions[detected_type] == "block"
    assert PRIVACY_PROFILES["eu-gdpr"].actions["email"] == "tokenize"


def test_equal_strength_later_wins():
    assert (
        policy_of(presets=["llm-redact"], actions={"email": "mask"}).action_for("email") == "mask"
    )
    assert (
        policy_of(presets=["local-inference"], actions={"email": "encrypt"}).action_for("email")
        == "encrypt"
    )
    assert policy_of(presets=["llm-redact", "local-inference"]).action_for("email") == "tokenize"


def test_weakening_raises_the_reference_message():
    config = config_from_dict({}, env={})
    weak = PolicyConfig(presets=("korean-pii",), actions={"kr_rrn": "mask"})
    with pytest.raises(PolicyError) as caught:
        build_policy(weak, known=KNOWN)
    assert (
        str(caught.value)
        == "Policy action conflict for kr_rrn: policy.actions cannot weaken block to mask"
    )
    assert config.policy.allow_unsafe_overrides is False


def test_preset_cannot_weaken_an_earlier_preset():
    with pytest.raises(PolicyError, match="preset llm-redact cannot weaken tokenize to redact"):
        build_policy(
            PolicyConfig(presets=("local-inference", "llm-redact"), actions={}), known=KNOWN
        )


def test_allow_unsafe_overrides_keeps_the_stronger_action():
    policy = policy_of(
        presets=["korean-pii"], actions={"kr_rrn": "allow"}, allowUnsafeOverrides=True
    )
    assert policy.action_for("kr_rrn") == "block"


def test_injection_is_allowed_unless_explicit():
    assert policy_of(presets=["strict-block"]).action_for("injection") == "allow"
    assert policy_of(presets=["strict-block"]).action_for("email") == "block"
    assert policy_of(actions={"injection": "block"}).action_for("injection") == "block"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"presets": []}, "redact"),
        ({"presets": ["strict-block"]}, "block"),
        ({"presets": ["strict-block"], "defaultAction": "block"}, "block"),
        ({"presets": ["llm-redact"], "defaultAction": "block"}, "block"),  # quirk 8 fixed
        ({"presets": ["llm-redact"], "defaultAction": "mask"}, "mask"),
        ({"presets": [], "defaultAction": "tokenize"}, "tokenize"),
        (
            {"presets": ["strict-block"], "defaultAction": "mask", "allowUnsafeOverrides": True},
            "block",
        ),
    ],
)
def test_default_action_merge(policy, expected):
    assert policy_of(**policy).default_action == expected


def test_explicit_default_action_cannot_weaken_a_preset(problems_of):
    assert problems_of({"policy": {"presets": ["strict-block"], "defaultAction": "redact"}}) == (
        "$.policy.defaultAction: Policy action conflict for defaultAction: "
        "policy.defaultAction cannot weaken block to redact",
    )


@pytest.mark.parametrize("profile_name", sorted(PRIVACY_PROFILES))
@pytest.mark.parametrize(
    "policy",
    [
        {},
        {"presets": []},
        {"presets": ["local-inference"]},
        {"presets": ["strict-block"]},
        {"presets": [], "actions": {"email": "allow", "phone": "allow", "kr_rrn": "mask"}},
        {"presets": [], "actions": {"email": "encrypt", "nl_bsn": "tokenize"}},
    ],
)
def test_privacy_profile_only_strengthens(profile_name, policy):
    without = policy_of(**policy)
    with_profile = policy_of(profile_name, **policy)
    assert with_profile.default_action == without.default_action
    for detected_type in BUILTIN_DETECTOR_TYPES:
        after = KNOWN.strength(with_profile.action_for(detected_type))
        assert after >= KNOWN.strength(without.action_for(detected_type))
    for detected_type, action in PRIVACY_PROFILES[profile_name].actions.items():
        assert KNOWN.strength(with_profile.action_for(detected_type)) >= KNOWN.strength(action)


def test_privacy_profile_keeps_an_explicit_action_of_equal_strength():
    assert policy_of("kr-pipa", actions={"email": "mask"}).action_for("email") == "mask"
    assert policy_of("eu-gdpr", actions={"email": "mask"}).action_for("email") == "tokenize"
    assert policy_of("eu-gdpr", presets=[]).action_for("email") == "tokenize"


def test_privacy_profile_never_causes_a_conflict():
    assert policy_of("kr-pipa", presets=["local-inference"]).action_for("email") == "tokenize"


BOUND = {
    "policy": {
        "modelAllowlist": ["gpt-4o"],
        "rate": {"requestsPerMinute": 60},
        "profiles": {
            "admins": {"actions": {"email": "mask"}, "modelAllowlist": ["gpt-4o", "o3"]},
            "ml": {"presets": ["strict-block"], "rate": {"requestsPerMinute": 5}},
            "guests": {"defaultAction": "block"},
        },
        "profileBinding": {
            "byScope": {"admin": "admins", "research": "ml"},
            "byLabel": {"team=ml": "ml", "env=dev": "admins"},
            "default": "guests",
        },
    },
    "privacy": {"profile": "eu-gdpr"},
}


@pytest.mark.parametrize(
    ("scopes", "labels", "expected"),
    [
        (["admin"], {"team": "ml"}, "admins"),
        (["research", "admin"], {}, "ml"),
        (["other", "admin"], {}, "admins"),
        ([], {"team": "ml", "env": "dev"}, "ml"),
        (["other"], {"env": "dev"}, "admins"),
        (["other"], {"team": "web"}, "guests"),
        ([], {}, "guests"),
    ],
)
def test_profile_resolution_order(scopes, labels, expected):
    policies = build_policy_set(config_from_dict(BOUND, env={}), KNOWN)
    assert policies.resolve(scopes, labels)[0] == expected


def test_profiles_merge_over_the_base_and_get_the_privacy_profile():
    policies = build_policy_set(config_from_dict(BOUND, env={}), KNOWN)
    _, admins = policies.resolve(["admin"], {})
    _, ml = policies.resolve(["research"], {})
    _, guests = policies.resolve([], {})
    assert admins.model_allowlist == ("gpt-4o", "o3") and admins.rate_per_minute == 60
    assert admins.action_for("email") == "tokenize"  # eu-gdpr strengthens the profile too
    assert admins.action_for("card") == "block"
    assert ml.model_allowlist == ("gpt-4o",) and ml.rate_per_minute == 5
    # eu-gdpr says phone: mask, but it never weakens strict-block's default
    assert ml.default_action == "block" and ml.action_for("phone") == "block"
    assert guests.default_action == "block" and guests.action_for("kr_rrn") == "block"


def test_without_a_binding_the_base_policy_applies():
    policies = build_policy_set(config_from_dict({}, env={}), KNOWN)
    assert policies.resolve(["admin"], {"team": "ml"}) == (None, policies.base)


def test_bundle_policy_replaces_the_inline_one_and_keeps_the_mode():
    config = config_from_dict({"policy": {"mode": "enforce", "actions": {"email": "mask"}}}, env={})
    replaced = policy_from_bundle(
        {"mode": "dry-run", "presets": ["strict-block"], "actions": {"email": "block"}},
        config,
        KNOWN,
    )
    assert replaced.effective_mode == "enforce"
    assert dict(replaced.policy.actions) == {"card": "block", "email": "block"}
    assert build_policy_set(replaced, KNOWN).base.default_action == "block"


def test_bad_bundle_policy_reports_every_problem_prefixed():
    config = config_from_dict({}, env={})
    with pytest.raises(ConfigError) as caught:
        policy_from_bundle(
            {"actions": {"card": "hash"}, "presets": ["nope"], "extra": 1}, config, KNOWN
        )
    assert sorted(caught.value.problems) == [
        'bundle:$.policy.actions.card: unknown action "hash" (expected one of allow, block, '
        "encrypt, mask, redact, tokenize)",
        "bundle:$.policy.extra: unknown key (allowed keys: mode, presets, defaultAction, actions, "
        "allowUnsafeOverrides, bundlePath, modelAllowlist, rate, profiles, profileBinding)",
        'bundle:$.policy.presets[0]: unknown preset "nope" (expected one of korean-pii, '
        "llm-redact, local-inference, local-only, mcp-basic, secrets-only, strict-block)",
    ]
    with pytest.raises(ConfigError) as caught:
        policy_from_bundle({"actions": {"secret": "redact"}}, config, KNOWN)
    assert caught.value.problems == (
        "bundle:$.policy.actions.secret: Policy action conflict for secret: "
        "policy.actions cannot weaken block to redact",
    )
    with pytest.raises(ConfigError):
        policy_from_bundle(["not", "an", "object"], config, KNOWN)


def test_policy_set_from_a_bundle_policy():
    config = config_from_dict({"mode": "enforce"}, env={})
    policies = build_policy_set(config, KNOWN, bundle_policy={"presets": ["strict-block"]})
    assert policies.base.default_action == "block"
    with pytest.raises(ConfigError):
        build_policy_set(config, KNOWN, bundle_policy={"presets": "strict-block"})
