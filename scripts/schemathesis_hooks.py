"""schemathesis hooks for scripts/contract.py: which key each operation gets, and what not to let the fuzzer do."""
import os

import schemathesis

ADMIN = os.environ["KAITO_ADMIN_KEY"]
SCOPED = os.environ["KAITO_SCOPED_KEY"]
# The two keys the run uses: revoking or restricting them would end the run, not test anything.
PROTECTED = set(os.environ.get("KAITO_PROTECTED_IDS", "").split(","))


@schemathesis.auth()
class KaitoKeys:
    """The org:admin key for org:admin operations, the key with every other scope for the rest."""

    def get(self, case, ctx):
        return {"admin": ADMIN, "scoped": SCOPED}

    def set(self, case, data, ctx):
        raw = case.operation.definition.raw
        if raw.get("security") == []:
            return
        scope = raw.get("x-kaito-scope")
        scopes = scope if isinstance(scope, list) else [scope]
        key = data["admin"] if scopes == ["org:admin"] else data["scoped"]
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = "Bearer " + key


@schemathesis.hook
def filter_path_parameters(ctx, parameters):
    return not isinstance(parameters, dict) or parameters.get("id") not in PROTECTED


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # The stateful phase follows ids out of responses (GET /v1/keys), past the filter above: point those at a key
    # that does not exist instead.
    parameters = case.path_parameters or {}
    if parameters.get("id") in PROTECTED:
        case.path_parameters = dict(parameters, id="key_00000000000000000000000000")


@schemathesis.hook
def map_query(ctx, query):
    # Long waits are tested in the Swift suites; here they would only slow the run down.
    if isinstance(query, dict):
        if isinstance(query.get("timeout"), int) and query["timeout"] > 1:
            query["timeout"] = 1
        if isinstance(query.get("min_valid"), int) and query["min_valid"] > 1:
            query["min_valid"] = 1
    return query
