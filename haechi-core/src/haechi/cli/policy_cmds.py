"""``haechi policy-sign`` and ``haechi policy-verify``."""

from __future__ import annotations

import argparse

from haechi.cli.common import add_config_argument
from haechi.cli.console import Output
from haechi.crypto.bundle import sign_policy_bundle, verify_policy_bundle
from haechi.fsutil import write_json_atomic
from haechi.jsonfile import read_json_file
from haechi.runtime import Runtime

__all__ = ["PolicySignCommand", "PolicyVerifyCommand"]


class PolicySignCommand:
    NAME = "policy-sign"
    SUMMARY = "Sign a policy file into a policy bundle"
    USAGE = "<policy.json> [--out policy.bundle.json] [--config P]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("policy", help="policy JSON (the value of the policy key)")
        parser.add_argument("--out", default="policy.bundle.json", metavar="P")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        runtime = Runtime.load(args.config, pm=pm)
        policy = read_json_file(args.policy, "policy")
        runtime.check_policy_document(policy)
        bundle = sign_policy_bundle(policy, runtime.crypto)
        write_json_atomic(args.out, bundle, mode=0o644)
        output.json({"ok": True, "command": "policy-sign", "outPath": args.out,
                     "kid": bundle["kid"], "signedAt": bundle["signedAt"]})
        return 0


class PolicyVerifyCommand:
    NAME = "policy-verify"
    SUMMARY = "Verify a policy bundle's signature"
    USAGE = "<bundle.json> [--config P]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("bundle")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        runtime = Runtime.load(args.config, pm=pm)
        result = verify_policy_bundle(read_json_file(args.bundle, "policy bundle"),
                                      runtime.crypto)
        output.json({"ok": True, "command": "policy-verify", "bundlePath": args.bundle,
                     "result": result})
        return 0
