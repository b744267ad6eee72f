"""Schemathesis against the live service's own `/openapi.json`: every operation,
authenticated, with real ids, under every conformance check schemathesis has.

Zero 5xx and zero check failures is the bar (issue 13): a failure means the
document and the service disagree, and one of them is wrong.

The run goes through schemathesis' engine (what `st run` uses) rather than its pytest
plugin: the plugin's fixture-loaded schemas do not work under pytest 9.2, and the engine
runs every phase, the coverage phase (boundary values, unexpected methods) included.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.engine import events, from_schema
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, HookContext
from schemathesis.openapi import from_url
from schemathesis.specs.openapi.formats import unregister_string_format

from tests.contract.world import World
from tests.live import live_server

SEED = 13
# Sized so that both CI passes (SQLite, PostgreSQL) stay within a few minutes; raise it
# locally to dig deeper: `CONTRACT_MAX_EXAMPLES=200 ./dev test tests/contract`.
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "25"))
STATEFUL_MAX_STEPS = 20

# Operations that end the caller's session or account: each case gets its own caller.
ENDS_THE_CALLER = frozenset(
    {
        "DELETE /users/me",
        "POST /auth/logout",
        "POST /auth/logout-all",
        "POST /auth/password/change",
        "DELETE /auth/sessions/{session_id}",
    }
)

# Schema-valid requests the service rightly refuses for reasons no schema can state:
# (method, path, statuses it may answer besides success, why).
WELL_FORMED_BUT_REFUSED: list[tuple[str, str, list[int], str]] = [
    ("POST", "/auth/register", [422], "weak_password: common passwords, the email's local part"),
    ("POST", "/auth/password/reset", [400, 422], "a reset token never issued; weak_password"),
    ("POST", "/auth/password/change", [400, 422], "a wrong current password; weak_password"),
    ("POST", "/auth/verify", [400], "a verification token never issued"),
    ("POST", "/invitations/accept", [400], "an invitation token never issued"),
    ("POST", "/auth/token", [400], "RFC 6749 §5.2: unknown grant, wrong credentials"),
    ("POST", "/auth/revoke", [400], "RFC 6749 §5.2: an empty token is invalid_request"),
    ("POST", "/auth/mfa/totp/{factor_id}/confirm", [400], "invalid_mfa_code: a wrong code"),
    ("POST", "/auth/reauthenticate", [400], "a wrong password or code"),
    ("POST", "/organizations/{org_id}/invitations", [422], "unknown_role: roles are data"),
    ("PATCH", "/organizations/{org_id}/members/{user_id}", [422], "unknown_role"),
    ("PATCH", "/organizations/{org_id}/products/{product_id}", [412], "If-Match: stale"),
    ("DELETE", "/organizations/{org_id}/products/{product_id}", [412], "If-Match: stale"),
]
# Values that broke services like this one (NUL bytes PostgreSQL refuses, instants and
# versions past what a column or a driver holds), offered to the fields that take them:
# (parameter, values). Each case uses one of them with probability HOSTILE_PROBABILITY.
HOSTILE_VALUES: list[tuple[str, list[str]]] = [
    ("body.full_name", ["\x00", "a\x00b"]),
    ("body.name", ["a\x00b"]),
    ("body.description", ["a\x00b"]),
    ("body.password", ["\x00" * 8, " " * 8]),
    ("body.new_password", ["\x00" * 8, " " * 8]),
    ("query.q", ["\x00", "a\x00b"]),
    ("query.since", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]),
    ("query.until", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]),
    ("header.if-match", ['"99999999999"', '"-1"']),
]
HOSTILE_PROBABILITY = 0.2

# Schemathesis' defaults; a 5xx is `not_a_server_error`'s to report.
POSITIVE_DEFAULTS = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

# Every check schemathesis has; the run fails if one of them stops running.
EVERY_CHECK = {
    "allow_header_conformance",
    "content_type_conformance",
    "ensure_resource_availability",
    "ignored_auth",
    "missing_required_header",
    "negative_data_rejection",
    "not_a_server_error",
    "object_level_authorization",
    "positive_data_acceptance",
    "response_headers_conformance",
    "response_schema_conformance",
    "status_code_conformance",
    "unsupported_method",
    "use_after_free",
}


@dataclass
class Outcome:
    cases: int = 0
    seconds: float = 0.0
    transitions: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    checks: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def summary(self) -> str:
        answered = sorted(self.statuses.items())
        return (
            f"{self.cases} cases {dict(self.phases)}, {self.transitions} links, "
            f"answers {answered}, {len(self.checks)} checks, {self.seconds:.0f} s"
        )


def run_engine(schema: schemathesis.BaseSchema) -> Outcome:
    outcome = Outcome()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError):
            raise event.exception
        if isinstance(event, events.PhaseStarted) and event.payload is not None:
            outcome.transitions = event.payload.transitions_total
        if isinstance(event, events.NonFatalError):
            outcome.failures[(event.label, "error")] = str(event.value)
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        outcome.cases += len(recorder.cases)
        outcome.phases[str(event.phase)] += len(recorder.cases)
        for interaction in recorder.interactions.values():
            if interaction.response is not None:
                outcome.statuses[interaction.response.status_code] += 1
        for case_id, checks in recorder.checks.items():
            for check in checks:
                outcome.checks.add(check.name)
                if check.failure_info is None:
                    continue
                failure = check.failure_info.failure
                key = (failure.operation or recorder.label, failure.title)
                response = recorder.find_response(case_id=case_id)
                answer = f"[{response.status_code}] {response.text[:300]}" if response else ""
                outcome.failures.setdefault(
                    key, f"{failure.message}\n    {answer}\n    {check.failure_info.code_sample}"
                )
    outcome.seconds = time.monotonic() - started
    return outcome


def report(outcome: Outcome) -> str:
    lines = [f"{len(outcome.failures)} failures in {outcome.cases} cases:"]
    for (operation, title), text in sorted(outcome.failures.items()):
        lines.append(f"- {operation}: {title}\n    {text}")
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def deliverable_emails() -> Iterator[None]:
    """Addresses on real top-level domains: the service refuses the special-use ones
    (RFC 6761: `.test`, `.localhost`, ...) that schemathesis' own generator produces."""
    schemathesis.openapi.format("email", st.emails())
    yield
    unregister_string_format("email")


@pytest.fixture(scope="module")
def base_url(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(
        migrated_url, tmp_path_factory.mktemp("contract"), RATE_LIMITS_ENABLED="false"
    ) as url:
        yield url


@pytest.fixture
def world(base_url: str, migrated_url: str, request: pytest.FixtureRequest) -> Iterator[World]:
    superuser: bool = request.param
    with httpx.Client(base_url=base_url, timeout=30) as http:
        built = World(http, migrated_url, superuser=superuser)
        yield built
        built.close()


def aim_at(world: World, *, fresh_targets: bool) -> Any:
    """A `before_call` hook: the caller's token, and (stateless) fresh ids for what
    the case consumes, so one case's DELETE does not turn the next ones into 404s."""

    def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
        key = f"{case.operation.method.upper()} {case.operation.path}"
        caller = world.new_principal() if key in ENDS_THE_CALLER else world.owner
        case.headers = {**(case.headers or {}), **caller.headers}
        path = case.path_parameters if case.path_parameters is not None else {}
        if key == "DELETE /auth/sessions/{session_id}":
            path["session_id"] = caller.session_id
        elif not fresh_targets:
            pass
        elif key == "DELETE /organizations/{org_id}":
            path["org_id"] = world.new_org()
        elif key == "DELETE /organizations/{org_id}/products/{product_id}":
            path["product_id"] = world.new_product()
        elif key == "DELETE /organizations/{org_id}/roles/{role_id}":
            path["role_id"] = world.new_role()
        elif key == "DELETE /organizations/{org_id}/invitations/{invitation_id}":
            path["invitation_id"] = world.new_invitation()
        elif key == "DELETE /organizations/{org_id}/members/{user_id}":
            path["user_id"] = world.new_member()
        case.path_parameters = path

    return before_call


@pytest.fixture
def hooked(world: World, request: pytest.FixtureRequest) -> Iterator[None]:
    hook = aim_at(world, fresh_targets=request.param)
    GLOBAL_HOOK_DISPATCHER.register_hook_with_name(hook, "before_call")
    yield
    GLOBAL_HOOK_DISPATCHER.unregister(hook)


def load(base_url: str, *, parameters: dict[str, Any] | None = None, **config: Any) -> Any:
    hostile = {
        key: {"dictionary": f"hostile-{index}", "probability": HOSTILE_PROBABILITY}
        for index, (key, _) in enumerate(HOSTILE_VALUES)
    }
    settings = {
        "seed": SEED,
        "workers": 1,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "dictionaries": {
            f"hostile-{index}": {"values": values}
            for index, (_, values) in enumerate(HOSTILE_VALUES)
        },
        "parameters": {**hostile, **(parameters or {})},
        "checks": {"enabled": True},
        "operations": [
            {
                "include-name": f"{method} {path}",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": POSITIVE_DEFAULTS + [str(s) for s in statuses]
                    }
                },
            }
            for method, path, statuses, _ in WELL_FORMED_BUT_REFUSED
        ],
        **config,
    }
    return from_url(f"{base_url}/openapi.json", config=schemathesis.Config.from_dict(settings))


# Both tests name `app` so that the suite's cleanup empties the database after them.
pytestmark = pytest.mark.usefixtures("app")


# The operator reaches the superuser routes; the sequences run as a plain user, since an
# operator following links would deactivate themselves (`PATCH /users/{own id}`).
@pytest.mark.parametrize(("world", "hooked"), [(True, True)], indirect=True, ids=["operator"])
def test_every_operation_conforms(base_url: str, world: World, hooked: None) -> None:
    schema = load(
        base_url,
        phases={"stateful": {"enabled": False}},
        parameters={
            "path.org_id": world.org_id,
            "path.product_id": world.product_id,
            "path.role_id": world.role_id,
            "path.invitation_id": world.invitation_id,
            "path.user_id": world.member_id,
            "path.session_id": world.owner.session_id,
        },
    )
    outcome = run_engine(schema)
    print(f"\nstateless: {outcome.summary()}")
    assert not outcome.failures, report(outcome)
    assert outcome.checks == EVERY_CHECK


@pytest.mark.parametrize(("world", "hooked"), [(False, False)], indirect=True, ids=["user"])
def test_create_read_update_delete_sequences_conform(
    base_url: str, world: World, hooked: None
) -> None:
    schema = load(
        base_url,
        phases={
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": False},
            # The document's own links (src/tenantry/openapi.py `LINKS`) only: inference
            # guesses `org_id` from the new product's `id`.
            "stateful": {
                "enabled": True,
                "max-steps": STATEFUL_MAX_STEPS,
                "inference": {"algorithms": []},
            },
        },
    )
    outcome = run_engine(schema)
    print(f"\nstateful: {outcome.summary()}")
    assert not outcome.failures, report(outcome)
    # Without links the stateful run would be the stateless one with less data.
    assert outcome.transitions > 0, "no links between operations to follow"
