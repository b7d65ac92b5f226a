"""The fetch errors: each names its problem with a reason of its own; the transient ones are
TransientError, so a stage that lets one escape leaves its entry pending."""

from __future__ import annotations

import services.fetch.errors as errors
from services.errors import WirestreamError, is_transient
from services.fetch import FetchError, FetchTimeout, NetworkError, RefusedAddress, RetryLater

KINDS = [
    kind
    for kind in vars(errors).values()
    if isinstance(kind, type) and issubclass(kind, FetchError) and kind is not FetchError
]


def test_every_fetch_error_has_a_reason_of_its_own_and_a_docstring() -> None:
    reasons = [kind.reason for kind in KINDS]
    assert len(KINDS) == 12
    assert len(set(reasons)) == len(reasons)
    assert all(kind.__doc__ and kind.__name__ in errors.__doc__ for kind in KINDS)  # type: ignore[operator]


def test_only_timeouts_network_failures_and_retry_later_are_transient() -> None:
    transient = {kind for kind in KINDS if issubclass(kind, errors.TransientError)}
    assert transient == {FetchTimeout, NetworkError, RetryLater}
    assert is_transient(RetryLater("https://a.example/", 503, 30.0))
    refused = RefusedAddress("http://a.example/", "10.0.0.1", "private (10.0.0.0/8)")
    assert not is_transient(refused)
    assert isinstance(refused, WirestreamError)
    assert str(refused) == "refused_address: 10.0.0.1 is private (10.0.0.0/8) (http://a.example/)"
